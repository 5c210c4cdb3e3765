from django.urls import path

from . import views

app_name = "purchases"

urlpatterns = [
    path("purchases/", views.purchases_find, name="find"),
    path("purchases/sent/", views.purchases_sent, name="sent"),
    path("purchases/<str:token>/", views.purchases_list, name="list"),
]
