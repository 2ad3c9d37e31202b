// Inlined in base.html's head (allowed by its hash in SECURE_CSP), so the theme is on <html>
// before the first paint and the page never flashes the other one. The theme is the one chosen
// with the header's toggle (remembered in localStorage), else the system's; the stylesheet and
// the editor follow data-theme.
(() => {
  const KEY = "integr8scode.theme";
  const root = document.documentElement;
  const system = matchMedia("(prefers-color-scheme: dark)");
  const remembered = () => {
    try {
      const theme = localStorage.getItem(KEY);
      return theme === "light" || theme === "dark" ? theme : null;
    } catch {
      return null;
    }
  };
  let chosen = remembered();
  const apply = () => {
    const theme = chosen ?? (system.matches ? "dark" : "light");
    root.dataset.theme = theme;
    // The toggle stays hidden where this script does not run: it could do nothing there.
    for (const toggle of document.querySelectorAll("[data-theme-toggle]")) {
      toggle.hidden = false;
      toggle.setAttribute("aria-pressed", String(theme === "dark"));
    }
  };
  apply();
  system.addEventListener("change", apply);
  document.addEventListener("DOMContentLoaded", apply);
  // Another tab chose.
  addEventListener("storage", (event) => {
    if (event.key !== KEY) return;
    chosen = remembered();
    apply();
  });
  document.addEventListener("click", (event) => {
    if (!event.target.closest("[data-theme-toggle]")) return;
    chosen = root.dataset.theme === "dark" ? "light" : "dark";
    try {
      localStorage.setItem(KEY, chosen);
    } catch {
      // private mode: chosen for this page only
    }
    apply();
  });
})();
