// The console's one way to the API: JSON in and out, the staff token attached, problem documents
// (RFC 9457) turned into ApiError with their stable `code`, and a 401 reported once so the shell
// can save drafts and sign in again.

import { accessToken } from "./auth.js";

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.code = problem.code || (status === 0 ? "network_error" : `http_${status}`);
    this.problem = problem;
  }
}

let onUnauthorized = () => {};

export function whenUnauthorized(callback) {
  onUnauthorized = callback;
}

export async function request(method, path, body) {
  const headers = { Accept: "application/json, application/problem+json" };
  const token = accessToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (error) {
    throw new ApiError(0, { code: "network_error", detail: String(error) });
  }
  if (response.status === 401) {
    const problem = await response.json().catch(() => ({}));
    onUnauthorized(problem.code);
    throw new ApiError(401, problem);
  }
  if (!response.ok) {
    const problem = await response.json().catch(() => ({}));
    throw new ApiError(response.status, problem);
  }
  if (response.status === 204) return null;
  return response.json();
}

export const get = (path) => request("GET", path);
export const post = (path, body) => request("POST", path, body ?? {});
export const put = (path, body) => request("PUT", path, body ?? {});
export const del = (path) => request("DELETE", path);

/** `{count: n}` as n, `{fewer_than: 5}` as "< 5": a hidden count never becomes a number. */
export function shownCount(count) {
  if (!count) return "–";
  if (typeof count.count === "number") return String(count.count);
  return `< ${count.fewer_than}`;
}
