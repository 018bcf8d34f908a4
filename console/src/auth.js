// Signing staff in with the organisation's OpenID Connect provider: the authorization code flow
// with PKCE (RFC 7636), as a public client. The access token lives in this module's memory only,
// never in localStorage or sessionStorage: a reload signs in again (silently, while the identity
// provider's own session lasts). What must survive the redirect (state, verifier, nonce, where to
// return) goes to sessionStorage; it is useless without the provider's one-time code.

const PENDING = "burgernet.console.sign-in";

let current = null; // { accessToken, idToken, expiresAt }
let expiryTimer = null;

export class SignInError extends Error {
  constructor(code, detail) {
    super(detail || code);
    this.code = code;
  }
}

export async function discover(issuer) {
  const response = await fetch(`${issuer.replace(/\/$/, "")}/.well-known/openid-configuration`);
  if (!response.ok) throw new SignInError("identity_provider_unavailable", `HTTP ${response.status}`);
  return response.json();
}

function base64url(bytes) {
  let text = "";
  for (const byte of new Uint8Array(bytes)) text += String.fromCharCode(byte);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function randomToken() {
  return base64url(crypto.getRandomValues(new Uint8Array(32)));
}

/** Leaves for the identity provider; `returnTo` is the console route to come back to. */
export async function beginSignIn(settings, provider, returnTo) {
  const verifier = randomToken();
  const challenge = base64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
  const state = randomToken();
  const nonce = randomToken();
  sessionStorage.setItem(PENDING, JSON.stringify({ state, verifier, nonce, returnTo }));
  const url = new URL(provider.authorization_endpoint);
  const params = {
    response_type: "code",
    client_id: settings.oidc.client_id,
    redirect_uri: settings.oidc.redirect_uri,
    scope: settings.oidc.scopes,
    state,
    nonce,
    code_challenge: challenge,
    code_challenge_method: "S256",
  };
  for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value);
  window.location.assign(url.toString());
}

/**
 * Completes a sign-in when the provider has just sent the browser back with `?code=&state=`.
 * Answers the route to return to, or null when this load is not a return from the provider.
 */
export async function completeSignIn(settings, provider) {
  const params = new URLSearchParams(window.location.search);
  if (!params.has("code") && !params.has("error")) return null;
  const pending = JSON.parse(sessionStorage.getItem(PENDING) || "null");
  sessionStorage.removeItem(PENDING);
  // The code is single-use; keep it out of the address bar and history.
  window.history.replaceState(null, "", window.location.pathname + (pending?.returnTo || "#/"));
  if (params.has("error")) throw new SignInError(params.get("error"), params.get("error_description"));
  if (!pending || pending.state !== params.get("state")) throw new SignInError("state_mismatch");
  const response = await fetch(provider.token_endpoint, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      code: params.get("code"),
      redirect_uri: settings.oidc.redirect_uri,
      client_id: settings.oidc.client_id,
      code_verifier: pending.verifier,
    }),
  });
  const answer = await response.json().catch(() => ({}));
  if (!response.ok || !answer.access_token) {
    throw new SignInError(answer.error || "token_refused", answer.error_description);
  }
  const lifetime = Number(answer.expires_in) > 0 ? Number(answer.expires_in) * 1000 : 5 * 60 * 1000;
  current = { accessToken: answer.access_token, idToken: answer.id_token, expiresAt: Date.now() + lifetime };
  return pending.returnTo || "#/";
}

export function accessToken() {
  return current && Date.now() < current.expiresAt ? current.accessToken : null;
}

/** Calls `onExpired` when the token runs out (a few seconds early, so no request fails first). */
export function watchExpiry(onExpired) {
  clearTimeout(expiryTimer);
  if (!current) return;
  const wait = Math.max(0, current.expiresAt - Date.now() - 5000);
  expiryTimer = setTimeout(onExpired, Math.min(wait, 2 ** 31 - 1));
}

/** Forgets the token and ends the provider's session when it offers a way to. */
export function signOut(settings, provider) {
  const idToken = current?.idToken;
  current = null;
  clearTimeout(expiryTimer);
  if (!provider?.end_session_endpoint) return false;
  const url = new URL(provider.end_session_endpoint);
  url.searchParams.set("client_id", settings.oidc.client_id);
  url.searchParams.set("post_logout_redirect_uri", settings.oidc.redirect_uri);
  if (idToken) url.searchParams.set("id_token_hint", idToken);
  window.location.assign(url.toString());
  return true;
}
