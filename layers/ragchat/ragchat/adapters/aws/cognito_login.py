"""Signing in to the deployment's Cognito user pool from a terminal: `ragchat login`.

Users are created by an administrator (`aws cognito-idp admin-create-user`), with a temporary
password: their first sign-in answers Cognito's NEW_PASSWORD_REQUIRED challenge with a password
of their own. The app client allows USER_PASSWORD_AUTH for this (the password travels over TLS to
Cognito, never to ragchat). The ID token it returns is what the chat page and the APIs take.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ragchat.errors import RagchatError


class SignInFailed(RagchatError):
    """Cognito refused the sign-in; the message says why in words a user can act on."""


@dataclass(frozen=True)
class Tokens:
    id_token: str
    access_token: str
    refresh_token: str
    expires_in: int


class CognitoLogin:
    def __init__(self, client_id: str, region: str, client=None):
        if client is None:
            import boto3

            client = boto3.client("cognito-idp", region_name=region)
        self.client_id, self.client = client_id, client

    def sign_in(self, username: str, password: str, new_password: Callable[[], str]) -> Tokens:
        """Sign in; `new_password()` is asked for one when Cognito requires it (a first sign-in)."""
        errors = self.client.exceptions
        try:
            response = self.client.initiate_auth(ClientId=self.client_id, AuthFlow="USER_PASSWORD_AUTH",
                                                 AuthParameters={"USERNAME": username, "PASSWORD": password})
            if response.get("ChallengeName") == "NEW_PASSWORD_REQUIRED":
                response = self.client.respond_to_auth_challenge(
                    ClientId=self.client_id, ChallengeName="NEW_PASSWORD_REQUIRED", Session=response["Session"],
                    ChallengeResponses={"USERNAME": username, "NEW_PASSWORD": new_password()})
        except (errors.NotAuthorizedException, errors.UserNotFoundException) as exc:
            raise SignInFailed("wrong user name or password") from exc
        except errors.InvalidPasswordException as exc:
            raise SignInFailed(f"that new password does not meet the pool's policy ({exc})") from exc
        except errors.PasswordResetRequiredException as exc:
            raise SignInFailed("an administrator reset this password: ask them for a temporary one") from exc
        if "AuthenticationResult" not in response:
            raise SignInFailed(f"Cognito asks for {response.get('ChallengeName')}, which `ragchat login` cannot answer")
        result = response["AuthenticationResult"]
        return Tokens(result["IdToken"], result["AccessToken"], result.get("RefreshToken", ""), result["ExpiresIn"])
