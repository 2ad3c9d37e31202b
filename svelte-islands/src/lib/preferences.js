// What a visitor chose on the editor page, kept in this browser (localStorage). Storage may be
// refused (private mode, full): the choice then lasts as long as the page.
const PREFIX = "integr8scode.";

export function preference(name) {
  try {
    return localStorage.getItem(PREFIX + name);
  } catch {
    return null;
  }
}

export function keepPreference(name, value) {
  try {
    localStorage.setItem(PREFIX + name, String(value));
  } catch {
    // not kept
  }
}
