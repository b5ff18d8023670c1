"""oidc-provider-mock (PyPI) with the two things a council's provider does that its 0.3 releases leave out.

0.3.4 is the last release that runs on Python 3.11 (Debian 12's), and its token endpoint knows neither public clients
(`token_endpoint_auth_method: none`, what a native app such as `kith login --sso` is, RFC 8252) nor PKCE (RFC 7636): it
lets any code_verifier through. Both are authlib's own, registered here as authlib documents them, so the provider the
tests talk to refuses a public client without a verifier and a verifier that does not match its challenge, as Entra ID
does. Everything else is oidc-provider-mock as published, started with the arguments given to this script.
"""

import sys

import authlib.integrations.flask_oauth2 as flask_oauth2
from authlib.oauth2.rfc7636 import CodeChallenge
from oidc_provider_mock import _app
from oidc_provider_mock.__main__ import run

# code -> (code_challenge, code_challenge_method), as sent with the authorization request the code answers.
challenges: dict[str, tuple[str | None, str | None]] = {}


class Challenge(CodeChallenge):
    def get_authorization_code_challenge(self, authorization_code):
        return challenges.get(authorization_code.code, (None, None))[0]

    def get_authorization_code_challenge_method(self, authorization_code):
        return challenges.get(authorization_code.code, (None, None))[1]


grant = _app.AuthorizationCodeGrant
grant.TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]
save_code = grant.save_authorization_code


def save_code_with_challenge(self, code, request):
    asked = request.payload.data
    challenges[code] = (asked.get("code_challenge"), asked.get("code_challenge_method"))
    return save_code(self, code, request)


grant.save_authorization_code = save_code_with_challenge
register_grant = flask_oauth2.AuthorizationServer.register_grant


def register_grant_with_pkce(self, grant_class, extensions=None):
    if grant_class is grant:
        extensions = [*(extensions or []), Challenge(required=True)]
    return register_grant(self, grant_class, extensions)


flask_oauth2.AuthorizationServer.register_grant = register_grant_with_pkce

if __name__ == "__main__":
    sys.exit(run())
