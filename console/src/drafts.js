// Work in progress kept in sessionStorage, so that an expired session, a sign-in again or an API
// error never loses what a dispatcher or officer was typing. Drafts are not tokens; they stay in
// this browser tab only and go when it is closed.

const PREFIX = "burgernet.console.draft.";

export function loadDraft(name) {
  try {
    return JSON.parse(sessionStorage.getItem(PREFIX + name) || "null");
  } catch {
    return null;
  }
}

export function saveDraft(name, value) {
  sessionStorage.setItem(PREFIX + name, JSON.stringify(value));
}

export function dropDraft(name) {
  sessionStorage.removeItem(PREFIX + name);
}
