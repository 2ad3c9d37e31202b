// URLs come from the server (props.urls) with a placeholder for the execution id.
export function urlFor(props, name, id) {
  return props.urls[name].replace(props.id_placeholder, encodeURIComponent(id));
}

function onThisHost(path) {
  const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${window.location.host}${path}`;
}

// Where one execution is followed live.
export function websocketUrl(props, id) {
  return onThisHost(urlFor(props, "websocket", id));
}

// Where a script is submitted, to be followed on the same connection.
export function submitUrl(props) {
  return onThisHost(props.urls.submit);
}
