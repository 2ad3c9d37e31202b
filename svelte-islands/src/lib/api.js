import { urlFor } from "./urls.js";

export const NETWORK_ERROR = "The server could not be reached. Check your connection and try again.";

export class ApiError extends Error {}

async function send(props, method, url, body, headers = {}) {
  let response;
  try {
    response = await fetch(url, {
      method,
      headers: { "Content-Type": "application/json", "X-CSRFToken": props.csrf_token, ...headers },
      body: JSON.stringify(body ?? {}),
      credentials: "same-origin",
    });
  } catch {
    throw new ApiError(NETWORK_ERROR);
  }
  const payload = await response.json().catch(() => ({}));
  if (!response.ok) throw new ApiError(describeError(response.status, payload.detail));
  return payload;
}

function post(props, url, body, headers = {}) {
  return send(props, "POST", url, body, headers);
}

// The API answers {"detail": "..."} or, for schema errors, {"detail": [{"msg": ...}, ...]}.
export function describeError(status, detail) {
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) return detail.map((item) => item.msg ?? String(item)).join("; ");
  return `The server answered ${status}.`;
}

// The HTTP way to submit (the editor submits over its WebSocket when one gets through).
export function submitExecution(props, { idempotency_key: key, ...body }) {
  return post(props, props.urls.submit_http, body, key ? { "Idempotency-Key": key } : {});
}

// A key that makes a repeated submission return the first one instead of running twice.
export function idempotencyKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16)); // also where crypto.randomUUID is not (plain HTTP)
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

function scriptBody({ title, source, runtime, visibility, files = [] }) {
  return { title, source, ...(runtime ? { runtime } : {}), visibility, files };
}

// Saves a new script for the signed-in user; answers the saved script (with its key).
export function saveScript(props, fields) {
  return post(props, props.urls.save_script, scriptBody(fields));
}

// Saves over the user's own script `key`; answers the script as saved.
export function updateScript(props, key, fields) {
  return send(props, "PATCH", urlFor(props, "update_script", key), scriptBody(fields));
}

export async function cancelExecution(props, id) {
  try {
    return await post(props, urlFor(props, "cancel", id));
  } catch (error) {
    // Finishing first is not a failure: the stream reports the final state anyway.
    if (!(error instanceof ApiError)) throw error;
    return null;
  }
}

// Input for an interactive run ({text} and/or {eof: true}), where no WebSocket is open.
export function sendInput(props, id, body) {
  return post(props, urlFor(props, "stdin", id), body);
}

export async function fetchExecution(props, id) {
  const response = await fetch(urlFor(props, "execution", id), { credentials: "same-origin" });
  if (!response.ok) throw new ApiError(`The server answered ${response.status}.`);
  return response.json();
}
