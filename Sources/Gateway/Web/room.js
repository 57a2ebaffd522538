"use strict";
// The viewer's live room: the stream filling the screen, comments over it, the pinned product as
// a card with countdown, stock bar and a big buy button, floating hearts, the "just bought"
// ticker; paying and cancelling; reconnecting with resume after a network drop.
(() => {
  const { $, el, price, roomFromPath, savedLogin, login, RoomSocket, newRef, ServerClock, timeLeft } = Hometown;
  const t = I18n.t;
  const room = roomFromPath();
  const state = {
    products: new Map(), order: [], pinned: null, live: false, me: null, pendingRefs: new Map(), unpaid: null,
    viewers: 0, likes: 0, lastResult: null, stream: null, connection: "",
  };
  let socket = null;

  // --- comments over the stream's lower left; they fade, and stop scrolling while read ---
  const list = $("#comments");
  let stickToBottom = true;
  list.addEventListener("scroll", () => {
    stickToBottom = list.scrollTop + list.clientHeight >= list.scrollHeight - 8;
    if (stickToBottom) $("#newer").classList.remove("show");
  });
  $("#newer").addEventListener("click", () => { list.scrollTop = list.scrollHeight; });
  function addComment(comment, shown = true) {
    const item = el("li", { class: shown ? "" : "hidden-comment", "data-seq": comment.seq },
      el("span", { class: "who", text: comment.name }), comment.text);
    list.append(item);
    while (list.children.length > 150) list.firstChild.remove();
    if (stickToBottom) list.scrollTop = list.scrollHeight; else $("#newer").classList.add("show");
  }

  // On a desktop the comments are a panel beside the stream; on a phone they float over it.
  const wide = window.matchMedia("(min-width: 60rem)");
  function placeComments() {
    const home = wide.matches ? $("#side-comments") : $(".stage-bottom");
    if (list.parentElement !== home) {
      home.insertBefore($("#newer"), wide.matches ? null : home.firstChild);
      home.insertBefore(list, $("#newer"));
    }
    list.scrollTop = list.scrollHeight;
  }
  wide.addEventListener("change", placeComments);
  placeComments();

  // --- the stream ---
  const video = $("#video");
  const player = { peer: null, retry: null, attempt: 0 };
  function stageState(key) {
    const box = $("#stage-state");
    box.textContent = key ? t(key) : "";
    box.dataset.state = key || "";
    box.classList.toggle("hide", !key);
  }
  function stopStream() {
    clearTimeout(player.retry);
    if (player.peer) { player.peer.close(); player.peer = null; }
    video.removeAttribute("src");
    video.srcObject = null;
    video.load();
  }
  function playStream() {
    stopStream();
    const stream = state.stream;
    video.poster = stream && stream.poster ? stream.poster : "";
    if (!stream) return stageState(state.live ? "stage.none" : "stage.offline");
    stageState("stage.loading");
    if (stream.kind === "whep") return playWHEP(stream.url);
    if (stream.kind === "hls" && !video.canPlayType("application/vnd.apple.mpegurl")) return stageState("stage.cannot");
    video.src = stream.url;
    video.play().catch(() => {});
  }
  /** WebRTC WHEP (RFC 9725): offer receive-only audio and video, POST the SDP, play what comes. */
  async function playWHEP(url) {
    try {
      const peer = new RTCPeerConnection();
      player.peer = peer;
      peer.addTransceiver("video", { direction: "recvonly" });
      peer.addTransceiver("audio", { direction: "recvonly" });
      const media = new MediaStream();
      peer.ontrack = (event) => { media.addTrack(event.track); video.srcObject = media; video.play().catch(() => {}); };
      peer.onconnectionstatechange = () => { if (["failed", "disconnected"].includes(peer.connectionState)) retryStream(); };
      await peer.setLocalDescription(await peer.createOffer());
      const response = await fetch(url, { method: "POST", headers: { "Content-Type": "application/sdp" }, body: peer.localDescription.sdp });
      if (!response.ok) throw new Error("WHEP " + response.status);
      await peer.setRemoteDescription({ type: "answer", sdp: await response.text() });
    } catch { retryStream(); }
  }
  /** The stream went away: say so, and try again with backoff until it is back. */
  function retryStream() {
    if (!state.stream) return;
    stageState("stage.stopped");
    clearTimeout(player.retry);
    const delay = Math.min(15000, 1000 * 2 ** player.attempt) * (0.5 + Math.random());
    player.attempt += 1;
    player.retry = setTimeout(playStream, delay);
  }
  video.addEventListener("playing", () => { player.attempt = 0; stageState(null); $("#unmute").classList.toggle("hide", !video.muted); });
  video.addEventListener("waiting", () => stageState("stage.loading"));
  video.addEventListener("error", retryStream);
  video.addEventListener("ended", retryStream);
  $("#unmute").addEventListener("click", () => { video.muted = false; video.play().catch(() => {}); $("#unmute").classList.add("hide"); });

  // --- products, the pinned card, the countdown ---
  function renderProducts() {
    $("#products").replaceChildren(...state.order.map((sku) => {
      const product = state.products.get(sku);
      return el("tr", {}, el("td", { text: product.title }), el("td", { text: price(product.price) }),
        el("td", { class: "muted", text: saleLabel(product) }));
    }));
    renderPinned();
  }
  function saleLabel(product) {
    const sale = product.sale || { state: "none" };
    switch (sale.state) {
      case "scheduled": return t("sale.starts", { t: timeLeft(sale.starts_at) });
      case "live": return t("sale.live") + " · " + t("product.limit", { n: sale.limit })
        + (sale.ends_at ? " · " + t("sale.ends", { t: timeLeft(sale.ends_at) }) : "");
      case "sold_out": return t("sale.soldout");
      case "ended": return t("sale.ended");
      default: return "";
    }
  }
  /** The sale's state by the server's clock: a scheduled sale is live once its start has passed. */
  function saleNow(product) {
    const sale = product.sale || { state: "none" };
    if (sale.state === "scheduled" && sale.starts_at && ServerClock.now() >= sale.starts_at) return product.left > 0 ? "live" : "sold_out";
    return sale.state;
  }
  let announcedCountdown = "";
  function renderPinned() {
    const product = state.pinned && state.products.get(state.pinned);
    $("#pinned").classList.toggle("hide", !product);
    if (!product) return;
    $("#pinned-title").textContent = product.title;
    $("#pinned-price").textContent = price(product.price);
    $("#pinned-sale").textContent = saleLabel(product);
    $("#pinned-left").textContent = t("product.left", { n: product.left });
    const image = $("#pinned-image");
    image.classList.toggle("hide", !product.image);
    if (product.image && image.getAttribute("src") !== product.image) { image.src = product.image; image.alt = product.title; }
    $("#stockbar").style.width = (product.stock ? 100 * product.left / product.stock : 0) + "%";
    const sale = saleNow(product);
    const signedIn = state.me && !state.me.anonymous;
    const buy = $("#buy");
    buy.disabled = !(state.live && sale === "live" && signedIn);
    buy.dataset.sale = sale;
    let label = t("buy");
    if (sale === "sold_out") label = t("buy.soldout");
    else if (sale === "scheduled") label = t("buy.soon", { t: timeLeft(product.sale.starts_at) });
    else if (!signedIn) label = t("buy.signin");
    if (buy.textContent !== label) buy.textContent = label;
    // The countdown is announced when a sale is about to open, not every second.
    const countdown = sale === "scheduled" ? t("sale.starts", { t: timeLeft(product.sale.starts_at) }) : "";
    const box = $("#countdown");
    if (box.textContent !== countdown) box.textContent = countdown;
    const seconds = sale === "scheduled" ? Math.ceil((product.sale.starts_at - ServerClock.now()) / 1000) : -1;
    box.setAttribute("aria-live", seconds <= 10 && seconds >= 0 && countdown !== announcedCountdown ? "assertive" : "polite");
    announcedCountdown = countdown;
  }
  // Fast enough that every page's button turns live within a fraction of a second of the others.
  setInterval(() => { if (state.pinned) renderPinned(); }, 100);
  setInterval(renderPayment, 1000);

  // --- paying ---
  function renderPayment() {
    const unpaid = state.unpaid;
    $("#payment").classList.toggle("hide", !unpaid);
    if (!unpaid) return;
    $("#payment-text").textContent = t("pay.within", { t: timeLeft(unpaid.payBy) });
    $("#checkout").classList.toggle("hide", !unpaid.checkout);
    if (unpaid.checkout) $("#checkout").href = unpaid.checkout;
  }
  function showResult(key, good, status, orderState) {
    const box = $("#order-result");
    state.lastResult = { key, good };
    box.textContent = t(key);
    box.className = "result " + (good ? "accepted" : "refused");
    if (status !== undefined) box.dataset.status = status;
    box.dataset.state = orderState || "";
  }
  function orderUpdated(order) {
    showResult("update." + (order.reason || order.state), order.state === "paid", undefined, order.state);
    if (state.unpaid && state.unpaid.id === order.order) state.unpaid = null;
    renderPayment();
  }

  // --- hearts for likes ---
  function hearts(count) {
    const layer = $("#hearts");
    for (let index = 0; index < Math.min(count, 8); index += 1) {
      const heart = el("span", { class: "heart", text: "♥" });
      heart.style.left = (10 + Math.random() * 60) + "%";
      heart.style.animationDelay = (index * 0.12) + "s";
      heart.style.setProperty("--hue", String(Math.floor(Math.random() * 60) - 20));
      heart.addEventListener("animationend", () => heart.remove());
      layer.append(heart);
    }
  }

  // --- the header ---
  function renderHeader() {
    $("#live-badge").textContent = t(state.live ? "live" : "offline");
    $("#live-badge").classList.toggle("live", state.live);
    $("#viewers").textContent = t("viewers", { n: state.viewers });
    $("#likes").textContent = t("likes", { n: state.likes });
    const connection = state.connection ? t("conn." + state.connection) : "";
    $("#connection").textContent = connection;
    $("#connection").classList.toggle("hide", !connection);
  }
  function setLive(live) {
    state.live = live;
    renderHeader();
    if (!state.stream) stageState(live ? "stage.none" : "stage.offline");
    renderPinned();
  }

  function onMessage(message) {
    switch (message.type) {
      case "welcome": {
        ServerClock.sample(message.now);
        state.me = message.you;
        $("#title").textContent = message.title || message.room;
        document.title = (message.title || message.room) + " · Hometown";
        state.viewers = message.viewers;
        state.products = new Map(message.products.map((product) => [product.sku, product]));
        state.order = message.products.map((product) => product.sku);
        state.pinned = message.pinned;
        if (!message.recovered) list.replaceChildren();
        message.comments.forEach((comment) => addComment(comment));
        const changed = JSON.stringify(message.stream) !== JSON.stringify(state.stream);
        state.stream = message.stream;
        setLive(message.live);
        if (changed || !video.currentSrc && !video.srcObject) playStream();
        renderProducts();
        $("#comment-form").classList.toggle("hide", message.you.anonymous);
        $("#login-form").classList.toggle("hide", !message.you.anonymous);
        // Orders sent before a drop are retried with the same ref: never a second order.
        for (const [ref, order] of state.pendingRefs) socket.send({ ...order, ref });
        break;
      }
      case "comment":
        if (message.shown || message.user === (state.me && state.me.user)) addComment(message, message.shown);
        break;
      case "viewers": state.viewers = message.count; renderHeader(); break;
      case "likes":
        state.likes = message.total;
        renderHeader();
        hearts(message.count);
        break;
      case "room": $("#title").textContent = message.title || room; setLive(message.live); break;
      case "stream": state.stream = message.stream; player.attempt = 0; playStream(); break;
      case "product":
        if (!state.products.has(message.sku)) state.order.push(message.sku);
        state.products.set(message.sku, message);
        renderProducts();
        break;
      case "pin": state.pinned = message.sku; renderPinned(); break;
      case "sale": {
        const product = state.products.get(message.sku);
        if (product) { product.sale = message; renderProducts(); }
        break;
      }
      case "stock": {
        const product = state.products.get(message.sku);
        if (product) { product.left = message.left; renderProducts(); }
        break;
      }
      case "bought": $("#ticker").textContent = t("bought", { name: message.name, qty: message.qty }); break;
      case "order.result": {
        state.pendingRefs.delete(message.ref);
        const accepted = message.status === "accepted";
        showResult("result." + message.status, accepted, message.status, message.state || (accepted ? "accepted" : ""));
        if (accepted && message.pay_by && message.state === "accepted") {
          state.unpaid = { id: message.order, payBy: message.pay_by, checkout: message.checkout };
        }
        renderPayment();
        break;
      }
      case "order.update": orderUpdated(message); break;
      case "error":
        $("#comment-error").textContent = message.message;
        setTimeout(() => { $("#comment-error").textContent = ""; }, 4000);
        break;
      case "muted": $("#comment-error").textContent = t("muted"); break;
    }
  }

  function onState(status) {
    state.connection = status === "open" ? "" : status;
    renderHeader();
  }

  function start() {
    if (socket) socket.close();
    const saved = savedLogin("viewer", "");
    socket = new RoomSocket(room, saved && saved.token, onMessage, onState);
  }

  I18n.init(() => {
    renderHeader();
    renderProducts();
    if (state.lastResult) $("#order-result").textContent = t(state.lastResult.key);
    renderPayment();
    const current = $("#stage-state").dataset.state;
    if (current) stageState(current);
  });
  renderHeader();
  $("#login-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    try { await login($("#login-name").value.trim(), "viewer"); start(); }
    catch (error) { $("#comment-error").textContent = error.message; }
  });
  $("#comment-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = $("#comment-input").value.trim();
    if (text && socket.send({ type: "comment", text })) $("#comment-input").value = "";
  });
  $("#like").addEventListener("click", () => { if (socket.send({ type: "like" })) hearts(1); });
  $("#buy").addEventListener("click", () => {
    const ref = newRef();
    const order = { type: "order", sku: state.pinned, qty: 1 };
    state.pendingRefs.set(ref, order);
    $("#order-result").textContent = "…";
    socket.send({ ...order, ref });
  });
  $("#cancel-order").addEventListener("click", () => {
    if (state.unpaid) socket.send({ type: "order.cancel", order: state.unpaid.id, ref: newRef() });
  });
  start();
})();
