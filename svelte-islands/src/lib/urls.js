// URLs come from the server (props.urls) with a placeholder for the execution id.
export function urlFor(props, name, id) {
  return props.urls[name].replace(props.id_placeholder, encodeURIComponent(id));
}

export function websocketUrl(props, id) {
  const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${window.location.host}${urlFor(props, "websocket", id)}`;
}
