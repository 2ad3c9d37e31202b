// An island's data comes from the json_script element the template renders beside it
// (named by data-props), never from the page's other markup.
export function islandProps(target) {
  const source = document.getElementById(target.dataset.props);
  return source ? JSON.parse(source.textContent) : {};
}

// Mount a component in place of the server-rendered fallback the island div holds.
export function replaceFallback(target) {
  target.replaceChildren();
  return target;
}
