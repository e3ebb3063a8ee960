from django.urls import path

from .views import tracking_page

urlpatterns = [path("<str:token>/", tracking_page, name="tracking-page")]
