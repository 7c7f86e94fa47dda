from drf_spectacular.utils import extend_schema
from rest_framework.authtoken.views import ObtainAuthToken


@extend_schema(tags=["auth"], summary="Exchange a username and password for an API token")
class TokenView(ObtainAuthToken):
    pass
