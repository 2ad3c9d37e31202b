// One execution followed live over its WebSocket (/ws/executions/<id>/), or submitted over
// /ws/executions/ and followed on that same connection.
//
// What is shown is the latest snapshot's stored output and errors, then every output
// chunk whose sequence number is above it; the server fills any gap with a new snapshot,
// so output is never missed or repeated. A dropped connection is reopened and resumes
// from a fresh snapshot. Where no WebSocket gets through at all, the execution is submitted
// and followed over HTTP instead, its stored output polled (the server stores it as it
// arrives, a few times a second).
//
// An interactive run (submitted with interactive: true) is also fed from here: what is typed
// goes over the same connection (or HTTP without one), shows in the transcript as a "stdin"
// chunk, and the server says when the run waits for more (waitingForInput).
import { ApiError, describeError, fetchExecution, idempotencyKey, sendInput, submitExecution } from "./api.js";
import { submitUrl, websocketUrl } from "./urls.js";

const NOT_FOUND_CLOSE_CODE = 4404;
const RECONNECT_DELAYS_MS = [250, 500, 1000, 2000, 4000];
const POLL_INTERVAL_MS = 300;
export const CONNECTION_LOST = "Lost the live connection; reload the page to see the latest output.";
export const NOT_VISIBLE = "This execution is not visible to you.";

export const FINAL_STATUSES = ["completed", "failed"];

export function chunksOf(execution) {
  const chunks = [];
  if (execution?.output) chunks.push({ stream: "stdout", text: execution.output });
  if (execution?.errors) chunks.push({ stream: "stderr", text: execution.errors });
  return chunks;
}

function textOf(chunks, stream) {
  return chunks.filter((chunk) => chunk.stream === stream).map((chunk) => chunk.text).join("");
}

export class LiveExecution {
  execution = $state(null);
  chunks = $state([]);
  problem = $state("");
  waitingForInput = $state(false);
  inputProblem = $state("");
  #props;
  #seq = 0;
  #socket = null;
  #attempts = 0;
  #stopped = false;

  constructor(props, execution) {
    this.#props = props;
    this.execution = execution;
    this.chunks = chunksOf(execution);
  }

  get finished() {
    return FINAL_STATUSES.includes(this.execution?.status);
  }

  watch() {
    if (this.finished || this.#stopped) return this;
    const socket = new WebSocket(websocketUrl(this.#props, this.execution.execution_id));
    socket.onmessage = (event) => this.#receive(JSON.parse(event.data));
    socket.onclose = (event) => this.#closed(event.code);
    this.#socket = socket;
    return this;
  }

  // Submit a script ({script, stdin, runtime}) and follow it on the same connection.
  // Resolves once the server has accepted it (its first snapshot); rejects with an
  // ApiError carrying the server's reason when it is refused. When the connection fails
  // first (a proxy that does not pass WebSockets, or a drop in the middle), it submits and
  // follows over HTTP instead, under the same idempotency key: a submission the server did
  // get is then followed, not run twice.
  submit(fields) {
    const body = { ...fields, idempotency_key: idempotencyKey() };
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(submitUrl(this.#props));
      socket.onopen = () => socket.send(JSON.stringify({ type: "submit", ...body }));
      socket.onmessage = (event) => {
        const message = JSON.parse(event.data);
        if (message.type === "error" && !this.execution) {
          this.#stopped = true;
          reject(new ApiError(describeError(message.status, message.detail)));
          return;
        }
        this.#receive(message);
        resolve(this);
      };
      socket.onclose = (event) => {
        if (this.execution) this.#closed(event.code);
        else if (!this.#stopped) this.#submitOverHttp(body).then(resolve, reject);
      };
      this.#socket = socket;
    });
  }

  async #submitOverHttp(body) {
    this.#snapshot({ seq: 0, execution: await submitExecution(this.#props, body) });
    this.#poll();
    return this;
  }

  async #poll() {
    while (!this.finished && !this.#stopped) {
      await new Promise((wake) => setTimeout(wake, POLL_INTERVAL_MS));
      let execution;
      try {
        execution = await fetchExecution(this.#props, this.execution.execution_id);
      } catch {
        this.problem = CONNECTION_LOST;
        return;
      }
      if (FINAL_STATUSES.includes(execution.status)) this.#finish(execution);
      else this.#snapshot({ seq: 0, execution });
    }
  }

  stop() {
    this.#stopped = true;
    this.#socket?.close();
  }

  get interactive() {
    return Boolean(this.execution?.interactive) && !this.execution.input_closed && !this.finished;
  }

  // Type a line (or any text) for the run; it is echoed in the transcript.
  type(text) {
    this.#feed({ text });
    this.chunks.push({ stream: "stdin", text });
  }

  // End of file: the script reads no more (Ctrl+D). Text not yet sent goes first.
  endInput(text = "") {
    this.#feed({ text, eof: true });
    if (text) this.chunks.push({ stream: "stdin", text });
    this.execution.input_closed = true;
  }

  #feed(body) {
    this.waitingForInput = false;
    this.inputProblem = "";
    if (this.#socket?.readyState === WebSocket.OPEN) {
      this.#socket.send(JSON.stringify({ type: "stdin", ...body }));
      return;
    }
    sendInput(this.#props, this.execution.execution_id, body).catch((error) => {
      this.inputProblem = error.message;
    });
  }

  #receive(message) {
    this.#attempts = 0;
    if (message.type === "snapshot") this.#snapshot(message);
    else if (message.type === "output") this.#output(message);
    else if (message.type === "status") this.#status(message);
    else if (message.type === "finished") this.#finish(message.execution);
    else if (message.type === "error") this.inputProblem = describeError(message.status, message.detail);
  }

  #status(message) {
    this.execution.status = message.status;
    if ("waiting_for_input" in message) this.waitingForInput = message.waiting_for_input;
  }

  #snapshot({ seq, execution }) {
    this.execution = execution;
    this.chunks = chunksOf(execution);
    this.#seq = seq;
    this.waitingForInput = Boolean(execution.waiting_for_input);
  }

  #output({ seq, stream, text }) {
    if (seq <= this.#seq) return;
    this.#seq = seq;
    const last = this.chunks.at(-1);
    if (last?.stream === stream) last.text += text;
    else this.chunks.push({ stream, text });
  }

  #finish(execution) {
    // The stored result is the truth; the streamed chunks keep their interleaving (and what
    // was typed) as long as they agree with it.
    const agrees = textOf(this.chunks, "stdout") === (execution.output ?? "")
      && textOf(this.chunks, "stderr") === (execution.errors ?? "");
    if (!agrees) this.chunks = chunksOf(execution);
    this.execution = execution;
    this.waitingForInput = false;
  }

  #closed(code) {
    this.#socket = null;
    if (this.finished || this.#stopped) return;
    if (code === NOT_FOUND_CLOSE_CODE) {
      this.problem = NOT_VISIBLE;
      return;
    }
    const delay = RECONNECT_DELAYS_MS[this.#attempts++];
    if (delay === undefined) this.#giveUp();
    else setTimeout(() => this.watch(), delay);
  }

  async #giveUp() {
    try {
      const execution = await fetchExecution(this.#props, this.execution.execution_id);
      if (FINAL_STATUSES.includes(execution.status)) return this.#finish(execution);
    } catch {
      // Reported below like any other lost connection.
    }
    this.problem = CONNECTION_LOST;
  }
}
