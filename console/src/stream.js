// An alert's live event stream (Server-Sent Events) read with fetch, because EventSource cannot
// send the staff token. Reconnects with Last-Event-ID, so no dossier entry is missed or repeated.

import { accessToken } from "./auth.js";

/**
 * Follows `path` until `stop()` is called or the server says `end`. `handlers` has
 * `counters(data)`, `dossier(entry)`, `end()`, `status(text)` ("live", "reconnecting").
 */
export function follow(path, handlers) {
  // `replayFrom: "0"` asks for every dossier entry from the first.
  let lastEventId = handlers.replayFrom ?? null;
  let stopped = false;
  let controller = null;
  let retryDelay = 1000;

  async function connect() {
    while (!stopped) {
      const token = accessToken();
      if (!token) {
        handlers.status?.("signed_out");
        return;
      }
      controller = new AbortController();
      const headers = { Accept: "text/event-stream", Authorization: `Bearer ${token}` };
      if (lastEventId) headers["Last-Event-ID"] = lastEventId;
      try {
        const response = await fetch(path, { headers, signal: controller.signal });
        if (response.status === 401) {
          handlers.status?.("signed_out");
          return;
        }
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        handlers.status?.("live");
        retryDelay = 1000;
        if (await read(response.body)) return;
      } catch (error) {
        if (stopped) return;
      }
      handlers.status?.("reconnecting");
      await new Promise((resolve) => setTimeout(resolve, retryDelay));
      retryDelay = Math.min(retryDelay * 2, 15000);
    }
  }

  /** Reads one connection; true when the stream ended for good. */
  async function read(body) {
    const reader = body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return false;
      buffer += value.replace(/\r\n?/g, "\n");
      let boundary;
      while ((boundary = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, boundary);
        buffer = buffer.slice(boundary + 2);
        if (dispatch(block)) return true;
      }
    }
  }

  function dispatch(block) {
    let event = "message";
    let id = null;
    const data = [];
    for (const line of block.split("\n")) {
      if (line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (field === "event") event = value;
      else if (field === "data") data.push(value);
      else if (field === "id") id = value;
    }
    if (!data.length) return false;
    if (id) lastEventId = id;
    const payload = JSON.parse(data.join("\n"));
    if (event === "counters") handlers.counters?.(payload);
    else if (event === "dossier") handlers.dossier?.(payload);
    else if (event === "end") {
      handlers.end?.(payload);
      return true;
    }
    return false;
  }

  connect();
  return {
    stop() {
      stopped = true;
      controller?.abort();
    },
  };
}
