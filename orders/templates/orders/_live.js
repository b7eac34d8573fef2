// A live socket: snapshot first, then event frames; duplicates (event_id) and frames older
// than what we have (version) are dropped; a gap in an order's versions, a silent socket
// (no heartbeat) or a lost connection reconnects, and every reconnect starts with a snapshot.
function liveSocket(path, heartbeatSeconds, on) {
  const seen = new Set();
  let versions = {};
  let socket = null;
  let attempts = 0;
  let lastFrameAt = Date.now();
  let stopped = false;

  function connect() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    socket = new WebSocket(scheme + "//" + location.host + path, ["realtime"]);
    on.state(attempts ? "reconnecting" : "connecting");
    socket.onopen = function () { lastFrameAt = Date.now(); };
    socket.onmessage = function (message) {
      lastFrameAt = Date.now();
      const frame = JSON.parse(message.data);
      if (frame.type === "snapshot") {
        attempts = 0;
        versions = Object.assign({}, frame.versions);
        on.state("live");
        on.snapshot(frame);
      } else if (frame.type === "event") {
        if (seen.has(frame.event_id)) return;
        seen.add(frame.event_id);
        if (seen.size > 5000) seen.delete(seen.values().next().value);
        const known = versions[frame.aggregate_id];
        if (known !== undefined && frame.version <= known) return;
        if (known !== undefined && frame.version > known + 1) {
          socket.close(4000, "gap");  // we missed a frame: start again from a snapshot
          return;
        }
        versions[frame.aggregate_id] = frame.version;
        on.event(frame);
      }
    };
    socket.onclose = function (event) {
      if (stopped) return;
      if ([4401, 4403, 4404].indexOf(event.code) >= 0) {
        on.state("refused");
        return;
      }
      on.state("reconnecting");
      attempts += 1;
      const delay = Math.min(500 * Math.pow(2, attempts - 1), 15000) + Math.random() * 250;
      setTimeout(connect, delay);
    };
  }

  setInterval(function () {
    const silent = Date.now() - lastFrameAt > heartbeatSeconds * 2500;
    if (socket && socket.readyState === WebSocket.OPEN && silent) socket.close(4000, "silent");
  }, 2000);
  connect();
  return { close: function () { stopped = true; socket.close(1000); } };
}

function connectionShow(element, state) {
  const labels = { connecting: "connecting…", live: "live", reconnecting: "reconnecting…", refused: "not allowed" };
  element.dataset.state = state;
  element.textContent = labels[state] || state;
}
