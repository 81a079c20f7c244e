// Cognito sign-in with the USER_PASSWORD_AUTH flow, straight over Cognito's JSON API (no SDK):
// the same call works against the regional endpoint and the local emulator. A TOTP code
// (MFA) or a new password (account created with a temporary one) is asked for when Cognito
// answers with that challenge. The ID token lives
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

// Challenges this client answers; any other one is refused with a clear message.
export const CHALLENGES = ["SOFTWARE_TOKEN_MFA", "NEW_PASSWORD_REQUIRED"];

async function cognito(config, action, body) {
  let response;
  try {
    response = await fetch(config.cognitoEndpoint, {
      method: "POST",
      headers: {
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": `AWSCognitoIdentityProviderService.${action}`,
      },
      body: JSON.stringify({ ClientId: config.clientId, ...body }),
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
  return payload;
}

// A signed-in session, or {challenge, email, cognitoSession} when Cognito asks for one more
// step (a TOTP code, or a new password for an account created with a temporary one).
function outcome(payload, email) {
  const result = payload.AuthenticationResult;
  if (result && result.IdToken) {
    const claims = decodeClaims(result.IdToken);
    const session = { idToken: result.IdToken, email: claims.email || email, expiresAt: claims.exp * 1000 };
    sessionStorage.setItem(STORAGE_KEY, JSON.stringify(session));
    return session;
  }
  if (CHALLENGES.includes(payload.ChallengeName) && payload.Session) {
    const username = (payload.ChallengeParameters || {}).USERNAME || email;
    return { challenge: payload.ChallengeName, email, username, cognitoSession: payload.Session };
  }
  throw new AuthError(payload.ChallengeName || "challenge", "This account needs a sign-in step this app does not support");
}

export async function signIn(config, email, password) {
  const payload = await cognito(config, "InitiateAuth", {
    AuthFlow: "USER_PASSWORD_AUTH",
    AuthParameters: { USERNAME: email, PASSWORD: password },
  });
  return outcome(payload, email);
}

// answer: the TOTP code for SOFTWARE_TOKEN_MFA, the new password for NEW_PASSWORD_REQUIRED.
export async function answerChallenge(config, pending, answer) {
  const key = pending.challenge === "SOFTWARE_TOKEN_MFA" ? "SOFTWARE_TOKEN_MFA_CODE" : "NEW_PASSWORD";
  const payload = await cognito(config, "RespondToAuthChallenge", {
    ChallengeName: pending.challenge,
    Session: pending.cognitoSession,
    ChallengeResponses: { USERNAME: pending.username, [key]: answer },
  });
  return outcome(payload, pending.email);
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
