"use strict";
// The viewer's live room: comments, viewer count, likes, the pinned product with countdown and
// stock bar, buying, and reconnecting with resume after a network drop.
(() => {
  const { $, el, price, roomFromPath, savedLogin, login, RoomSocket, newRef } = Hometown;
  const room = roomFromPath();
  const state = { products: new Map(), order: [], pinned: null, live: false, me: null, pendingRefs: new Map(), unpaid: null };
  let socket = null;

  // --- comments, with auto-scroll that stops while the viewer reads older ones ---
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
    while (list.children.length > 300) list.firstChild.remove();
    if (stickToBottom) list.scrollTop = list.scrollHeight; else $("#newer").classList.add("show");
  }

  // --- products ---
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
      case "scheduled": return "starts in " + countdown(sale.starts_at);
      case "live": return `on sale · limit ${sale.limit}`;
      case "sold_out": return "sold out · 已抢光";
      case "ended": return "sale ended";
      default: return "";
    }
  }
  function countdown(at) {
    const seconds = Math.max(0, Math.ceil((at - Date.now()) / 1000));
    return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}`;
  }
  function renderPinned() {
    const product = state.pinned && state.products.get(state.pinned);
    $("#pinned").classList.toggle("hide", !product);
    if (!product) return;
    $("#pinned-title").textContent = product.title;
    $("#pinned-price").textContent = price(product.price);
    $("#pinned-sale").textContent = saleLabel(product);
    $("#pinned-left").textContent = product.left;
    $("#stockbar").style.width = (product.stock ? 100 * product.left / product.stock : 0) + "%";
    const buyable = state.live && product.sale && product.sale.state === "live" && state.me && !state.me.anonymous;
    $("#buy").disabled = !buyable;
    $("#buy").textContent = product.sale && product.sale.state === "sold_out" ? "Sold out · 已抢光" : "Buy now · 立即抢购";
  }
  setInterval(() => { if (state.pinned) renderPinned(); renderPayment(); }, 1000);

  // --- an order waiting for payment: time left, the shop's checkout, cancelling ---
  function renderPayment() {
    const unpaid = state.unpaid;
    $("#payment").classList.toggle("hide", !unpaid);
    if (!unpaid) return;
    $("#payment-text").textContent = `Pay within ${countdown(unpaid.payBy)} · 请在时限内付款`;
    $("#checkout").classList.toggle("hide", !unpaid.checkout);
    if (unpaid.checkout) $("#checkout").href = unpaid.checkout;
  }
  const updateText = {
    paid: "Paid · 已付款", expired: "Payment time ran out; the units went back · 支付超时，商品已释放",
    buyer: "Order cancelled · 订单已取消", shop: "Cancelled by the shop · 商家已取消",
  };
  function orderUpdated(order) {
    const box = $("#order-result");
    box.textContent = updateText[order.reason || order.state] || order.state;
    box.className = "result " + (order.state === "paid" ? "accepted" : "refused");
    box.dataset.state = order.state;
    if (state.unpaid && state.unpaid.id === order.order) state.unpaid = null;
    renderPayment();
  }

  function setLive(live) {
    state.live = live;
    $("#live-badge").textContent = live ? "LIVE" : "offline";
    $("#live-badge").classList.toggle("live", live);
    $("#notlive").classList.toggle("hide", live);
    renderPinned();
  }

  const resultText = {
    accepted: "Order placed! · 抢购成功", sold_out: "Sold out · 已抢光", limit_reached: "Limit reached · 已达限购",
    not_on_sale: "Not on sale yet · 尚未开售", invalid: "Invalid order", unavailable: "Please try again · 请重试",
  };

  function onMessage(message) {
    switch (message.type) {
      case "welcome":
        state.me = message.you;
        $("#title").textContent = message.title || message.room;
        document.title = (message.title || message.room) + " · Hometown";
        $("#viewers").textContent = message.viewers;
        state.products = new Map(message.products.map((product) => [product.sku, product]));
        state.order = message.products.map((product) => product.sku);
        state.pinned = message.pinned;
        if (!message.recovered) list.replaceChildren();
        message.comments.forEach((comment) => addComment(comment));
        setLive(message.live);
        renderProducts();
        $("#comment-form").classList.toggle("hide", message.you.anonymous);
        $("#login-form").classList.toggle("hide", !message.you.anonymous);
        // Orders sent before a drop are retried with the same ref: never a second order.
        for (const [ref, order] of state.pendingRefs) socket.send({ ...order, ref });
        break;
      case "comment":
        if (message.shown || message.user === (state.me && state.me.user)) addComment(message, message.shown);
        break;
      case "viewers": $("#viewers").textContent = message.count; break;
      case "likes": $("#likes").textContent = message.total; break;
      case "room": $("#title").textContent = message.title || room; setLive(message.live); break;
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
      case "bought": $("#ticker").textContent = `${message.name} just bought ${message.qty} · 刚刚下单`; break;
      case "order.result": {
        state.pendingRefs.delete(message.ref);
        const box = $("#order-result");
        box.textContent = resultText[message.status] || message.status;
        box.className = "result " + (message.status === "accepted" ? "accepted" : "refused");
        box.dataset.status = message.status;
        box.dataset.state = message.state || (message.status === "accepted" ? "accepted" : "");
        if (message.status === "accepted" && message.pay_by && message.state === "accepted") {
          state.unpaid = { id: message.order, payBy: message.pay_by, checkout: message.checkout };
        }
        renderPayment();
        break;
      }
      case "order.update": orderUpdated(message); break;
      case "error": $("#comment-error").textContent = message.message; setTimeout(() => { $("#comment-error").textContent = ""; }, 4000); break;
      case "muted": $("#comment-error").textContent = "You are muted · 你已被禁言"; break;
    }
  }

  function onState(status) {
    $("#connection").textContent = { open: "", reconnecting: "reconnecting…", banned: "removed from this room", closed: "this room has closed" }[status] || "";
  }

  function start() {
    if (socket) socket.close();
    const saved = savedLogin("viewer", "");
    socket = new RoomSocket(room, saved && saved.token, onMessage, onState);
  }

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
  $("#like").addEventListener("click", () => socket.send({ type: "like" }));
  $("#cancel-order").addEventListener("click", () => {
    if (state.unpaid) socket.send({ type: "order.cancel", order: state.unpaid.id, ref: newRef() });
  });
  $("#buy").addEventListener("click", () => {
    const ref = newRef();
    const order = { type: "order", sku: state.pinned, qty: 1 };
    state.pendingRefs.set(ref, order);
    $("#order-result").textContent = "…";
    socket.send({ ...order, ref });
  });
  start();
})();
