from django.contrib.auth.views import LoginView
from django.urls import include, path

from . import views
from .forms import LoginForm

urlpatterns = [
    path("signup/", views.signup, name="signup"),
    path("signup/sent/", views.signup_sent, name="signup-sent"),
    path("signup/resend/", views.signup_resend, name="signup-resend"),
    path(
        "signup/confirm/<uidb64>/<token>/",
        views.signup_confirm,
        name="signup-confirm",
    ),
    # Before Django's own: the same view, with one message for every refusal.
    path("login/", LoginView.as_view(authentication_form=LoginForm), name="login"),
    path(
        "password_reset/",
        views.LimitedPasswordResetView.as_view(),
        name="password_reset",
    ),
    path("", include("django.contrib.auth.urls")),
]
