// Cognito sign-in with the USER_PASSWORD_AUTH flow, straight over Cognito's JSON API (no SDK):
// the same call works against the regional endpoint and the local emulator. The ID token lives
// in sessionStorage (gone when the tab closes; never localStorage, which outlives the session
// and is readable by every future page of this origin).

const STORAGE_KEY = "mobile-backend.session";

export class AuthError extends Error {
  constructor(code, message) {
    super(message);
    this.name = "AuthError";
    this.code = code;
  }
}

function decodeClaims(jwt) {
  const payload = jwt.split(".")[1] || "";
  const base64 = payload.replace(/-/g, "+").replace(/_/g, "/");
  const padded = base64 + "=".repeat((4 - (base64.length % 4)) % 4);
  const bytes = Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
  return JSON.parse(new TextDecoder().decode(bytes));
}

export async function signIn(config, email, password) {
  let response;
  try {
    response = await fetch(config.cognitoEndpoint, {
      method: "POST",
      headers: {
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": "AWSCognitoIdentityProviderService.InitiateAuth",
      },
      body: JSON.stringify({
        AuthFlow: "USER_PASSWORD_AUTH",
        ClientId: config.clientId,
        AuthParameters: { USERNAME: email, PASSWORD: password },
      }),
    });
  } catch (failure) {
    throw new AuthError("network_error", `Sign-in service unreachable (${failure.message})`);
  }
  const payload = await response.json().catch(() => ({}));
  if (!response.ok) {
    // Cognito names the error in __type ("NotAuthorizedException", possibly with a prefix).
    const code = String(payload.__type || `http_${response.status}`).split("#").pop();
    throw new AuthError(code, payload.message || payload.Message || "Sign-in failed");
  }
  const result = payload.AuthenticationResult;
  if (!result || !result.IdToken) {
    // MFA or a new-password challenge: not handled by this client.
    throw new AuthError(payload.ChallengeName || "challenge", "This account needs a sign-in step this app does not support");
  }
  const claims = decodeClaims(result.IdToken);
  const session = { idToken: result.IdToken, email: claims.email || email, expiresAt: claims.exp * 1000 };
  sessionStorage.setItem(STORAGE_KEY, JSON.stringify(session));
  return session;
}

export function currentSession() {
  try {
    const session = JSON.parse(sessionStorage.getItem(STORAGE_KEY) || "null");
    return session && session.expiresAt > Date.now() ? session : null;
  } catch {
    return null;
  }
}

export function signOut() {
  sessionStorage.removeItem(STORAGE_KEY);
}
