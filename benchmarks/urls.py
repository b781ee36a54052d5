from django.urls import path
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from kozmo_secrets.urls import urlpatterns as product_urls
from secrets_app.access.authentication import TokenAuthentication


class Bare(APIView):
    """The floor for a request: token authentication, DRF, JSON `{}`."""

    authentication_classes = [TokenAuthentication]
    permission_classes = [IsAuthenticated]

    def get(self, request):
        return Response({})

    def post(self, request):
        return Response({})


urlpatterns = [path("bench/bare/", Bare.as_view()), *product_urls]
