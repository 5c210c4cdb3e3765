from django.urls import include, path

from . import views

urlpatterns = [
    path("signup/", views.signup, name="signup"),
    path("signup/sent/", views.signup_sent, name="signup-sent"),
    path("signup/resend/", views.signup_resend, name="signup-resend"),
    path(
        "signup/confirm/<uidb64>/<token>/",
        views.signup_confirm,
        name="signup-confirm",
    ),
    path("", include("django.contrib.auth.urls")),
]
