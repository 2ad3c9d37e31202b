// Mirrors the formatting of executions/views.py, so a live page reads like a reloaded one.
export const NOT_RECORDED = "—";
// executions/runners/outcome.py NOT_COMPILED["none"]: a build that failed with its messages.
const COMPILER_MESSAGES_IN_ERRORS = "The program did not compile: the compiler's messages are in errors";

export function formatMs(ms) {
  if (ms === null || ms === undefined) return NOT_RECORDED;
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(2)} s`;
}

export function formatKb(kb) {
  if (kb === null || kb === undefined) return NOT_RECORDED;
  return kb < 1024 ? `${kb} KiB` : `${(kb / 1024).toFixed(1)} MiB`;
}

// A cancelled run is "failed" by status (the outline's four), shown as what it is.
export function shownStatus(execution) {
  return execution.status === "failed" && execution.error_type === "cancelled" ? "cancelled" : execution.status;
}

export function failureReason(execution, labels) {
  if (execution.status !== "failed") return "";
  if (execution.error_type === "runtime_error" && execution.exception_type) {
    const message = execution.exception_message ? `: ${execution.exception_message}` : "";
    const line = execution.exception_line ? ` (line ${execution.exception_line})` : "";
    return `${execution.exception_type}${message}${line}`;
  }
  if (execution.error_type === "runtime_error") {
    const how = execution.signal ? `killed by signal ${execution.signal}` : `exit code ${execution.exit_code}`;
    return `${labels.error_type.runtime_error} (${how})`;
  }
  if (execution.error_type === "compile_error") {
    // The compiler's own messages are in the output; a limit that stopped it is said.
    const said = execution.error_message && execution.error_message !== COMPILER_MESSAGES_IN_ERRORS;
    return said ? `${labels.error_type.compile_error}: ${execution.error_message}` : labels.error_type.compile_error;
  }
  return execution.error_message || labels.error_type[execution.error_type] || labels.error_type.system_error;
}

export function executionFacts(execution) {
  return [
    ["Duration", formatMs(execution.duration_ms)],
    ["CPU time", formatMs(execution.cpu_ms)],
    ["Peak memory", formatKb(execution.peak_memory_kb)],
    ["Exit code", execution.exit_code ?? NOT_RECORDED],
    ...(execution.compile_ms == null ? [] : [["Compile time", formatMs(execution.compile_ms)]]),
  ];
}

export function formatBytes(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  return bytes < 1024 * 1024 ? `${(bytes / 1024).toFixed(1)} KiB` : `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
