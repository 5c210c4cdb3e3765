from __future__ import annotations

from django import forms
from django.contrib.auth.forms import AuthenticationForm, UserCreationForm
from django.contrib.auth.models import User

# One message for every refused login: a wrong password, an unknown username
# and an account still waiting for its confirmation (ModelBackend refuses
# inactive accounts just as it refuses a wrong password) all read the same.
LOGIN_REFUSED = (
    "Please enter a correct username and password. Note that both fields may be "
    "case-sensitive. Just signed up? Open the link in the email we sent you "
    "first."
)


class SignupForm(UserCreationForm):
    """Username, email and the password twice, checked by Django's validators.

    A taken username is reported beside its field (usernames are public
    handles); a taken email address is not, anywhere: see `seller_signup`.
    """

    email = forms.EmailField(
        label="Email",
        help_text="We send a link to confirm it, then password resets and "
        "delivery alerts.",
    )

    class Meta(UserCreationForm.Meta):
        model = User
        fields = ("username", "email")

    def values(self) -> dict[str, str]:
        """The keyword arguments of `seller_signup`."""
        data = self.cleaned_data
        return {
            "username": data["username"],
            "email": data["email"],
            "password": data["password1"],
        }

    def add_username_taken_error(self) -> None:
        self.add_error(
            "username", self.instance.unique_error_message(User, ["username"])
        )


class ConfirmationResendForm(forms.Form):
    email = forms.EmailField(label="Email")


class LoginForm(AuthenticationForm):
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": LOGIN_REFUSED,
        "inactive": LOGIN_REFUSED,
    }
