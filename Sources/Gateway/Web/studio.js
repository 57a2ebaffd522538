"use strict";
// The streamer's studio: open/close the room, its video (with a preview), products, pins, flash
// sales, the live order stream with running totals, viewers over time, and moderation.
(() => {
  const { $, el, price, roomFromPath, savedLogin, login, RoomSocket, ServerClock, timeLeft } = Hometown;
  const t = I18n.t;
  const room = roomFromPath();
  const state = { products: new Map(), order: [], pinned: null, orders: new Map(), viewers: [], live: false, title: room, stream: null };
  let socket = null;

  function send(message) {
    if (!socket || !socket.send(message)) $("#studio-error").textContent = t("notconnected");
  }

  function renderProducts() {
    // Stock and sale events redraw the table several times a second during a sale: keep what the
    // streamer is typing into a restock box, and the focus, across redraws.
    const typed = new Map([...document.querySelectorAll("#products tr")].map((row) =>
      [row.dataset.sku, row.querySelector(".restock-qty").value]));
    const focused = document.activeElement && document.activeElement.classList.contains("restock-qty")
      ? document.activeElement.closest("tr").dataset.sku : null;
    $("#products").replaceChildren(...state.order.map((sku) => {
      const product = state.products.get(sku);
      const sale = product.sale || { state: "none" };
      const restock = el("input", { type: "number", min: "1", value: typed.get(sku) || "10", class: "restock-qty", "aria-label": t("studio.restock.qty") });
      return el("tr", { "data-sku": sku },
        el("td", {}, el("strong", { text: product.title }),
          el("div", { class: "muted", text: sku + (state.pinned === sku ? " · " + t("studio.pinned") : "") })),
        el("td", { text: price(product.price) }),
        el("td", { text: `${product.left}/${product.stock}` }),
        el("td", { class: "sale-state", "data-state": sale.state, text: saleText(sale) }),
        el("td", { class: "actions" },
          el("button", { class: "small secondary", "data-action": "pin", text: t("studio.pin"), onclick: () => send({ type: "pin", sku }) }),
          el("button", { class: "small", id: "start-sale-" + sku, text: t("studio.start"), onclick: () => startSale(sku) }),
          el("button", { class: "small secondary", text: t("studio.stop"), onclick: () => send({ type: "sale.stop", sku }) }),
          restock,
          el("button", { class: "small secondary", text: t("studio.restock"), onclick: () => send({ type: "product.restock", sku, qty: Number(restock.value) }) })));
    }));
    if (focused) {
      const box = document.querySelector(`#products tr[data-sku="${CSS.escape(focused)}"] .restock-qty`);
      if (box) box.focus();
    }
  }

  function saleText(sale) {
    switch (sale.state) {
      case "scheduled": return t("sale.starts", { t: timeLeft(sale.starts_at) });
      case "live": return t("sale.live");
      case "sold_out": return t("sale.soldout");
      case "ended": return t("sale.ended");
      default: return "—";
    }
  }

  // --- the room's video, with a preview of what viewers will get ---
  function renderStream() {
    const stream = state.stream;
    $("#stream-url").value = stream ? stream.url : $("#stream-url").value;
    const preview = $("#preview");
    preview.classList.toggle("hide", !stream || stream.kind === "whep");
    if (stream && stream.kind !== "whep" && preview.getAttribute("src") !== stream.url) {
      preview.src = stream.url;
      preview.poster = stream.poster || "";
      preview.play().catch(() => {});
    }
    if (!stream) { preview.removeAttribute("src"); preview.load(); }
  }

  function startSale(sku) {
    const message = { type: "sale.start", sku, limit: Number($("#sale-limit").value) || 1 };
    const countdown = Number($("#sale-countdown").value);
    const seconds = Number($("#sale-seconds").value);
    if (countdown > 0) message.countdown = countdown;
    if (seconds > 0) message.seconds = seconds;
    const paymentWindow = Number($("#sale-window").value);
    if (paymentWindow > 0) message.payment_window = paymentWindow;
    send(message);
  }

  // Orders by id, in their latest state. Revenue is what is sold for good: paid orders, and
  // accepted orders of sales without a payment window (those are final).
  function isUnpaid(order) { return order.state === "accepted" && order.pay_by != null; }
  function stateText(order) {
    if (order.state === "paid") return t("order.paid");
    if (order.state === "cancelled") return t("order.cancelled", { reason: order.reason });
    if (!isUnpaid(order)) return t("order.accepted");
    return t("order.unpaid", { t: timeLeft(order.pay_by) });
  }
  function renderTotals() {
    let units = 0, revenue = 0, unpaid = 0, unpaidAmount = 0, cancelled = 0;
    for (const order of state.orders.values()) {
      if (order.state === "cancelled") { cancelled += 1; continue; }
      units += order.qty;
      if (isUnpaid(order)) { unpaid += 1; unpaidAmount += order.qty * order.price; } else revenue += order.qty * order.price;
    }
    $("#total-orders").textContent = state.orders.size - cancelled;
    $("#total-units").textContent = units;
    $("#total-revenue").textContent = price(revenue);
    $("#total-unpaid").textContent = unpaid;
    $("#unpaid-amount").textContent = price(unpaidAmount);
    $("#total-cancelled").textContent = cancelled;
  }
  function renderOrder(order) {
    const item = document.querySelector(`#orders li[data-order="${CSS.escape(order.order)}"]`);
    if (!item) return;
    item.dataset.state = order.state;
    item.querySelector(".order-state").textContent = stateText(order);
  }
  function addOrder(order) {
    if (state.orders.has(order.order)) return;
    state.orders.set(order.order, order);
    const product = state.products.get(order.sku);
    $("#orders").prepend(el("li", { class: "card", "data-order": order.order, "data-state": order.state },
      el("strong", { text: order.name }), ` · ${product ? product.title : order.sku} × ${order.qty} · ${price(order.qty * order.price)}`,
      el("div", { class: "order-state", text: stateText(order) }),
      el("div", { class: "muted", text: new Date(order.ts).toLocaleTimeString() + " · " + order.order })));
    renderTotals();
  }
  function updateOrder(order) {
    if (!state.orders.has(order.order)) return addOrder(order);
    state.orders.set(order.order, order);
    renderOrder(order);
    renderTotals();
  }
  // Unpaid orders count down.
  setInterval(() => { for (const order of state.orders.values()) if (isUnpaid(order)) renderOrder(order); }, 1000);

  function addComment(comment) {
    const list = $("#comments");
    list.append(el("li", {},
      el("span", { class: "who", text: comment.name }), comment.text, " ",
      el("button", { class: "small secondary", text: t("studio.mute"), onclick: () => send({ type: "mute", user: comment.user, seconds: 300 }) }),
      " ",
      el("button", { class: "small secondary", text: t("studio.ban"), onclick: () => send({ type: "ban", user: comment.user }) })));
    while (list.children.length > 200) list.firstChild.remove();
    list.scrollTop = list.scrollHeight;
  }

  function recordViewers(count) {
    state.viewerCount = count;
    $("#viewers").textContent = t("viewers", { n: count });
    state.viewers.push(count);
    if (state.viewers.length > 120) state.viewers.shift();
    const max = Math.max(1, ...state.viewers);
    const step = 300 / Math.max(1, state.viewers.length - 1);
    $("#viewers-line").setAttribute("points",
      state.viewers.map((value, index) => `${(index * step).toFixed(1)},${(98 - 96 * value / max).toFixed(1)}`).join(" "));
  }

  function setLive(live, title) {
    state.live = live;
    if (title) state.title = title;
    $("#live-badge").textContent = t(live ? "live" : "offline");
    $("#live-badge").classList.toggle("live", live);
    $("#title").textContent = t("studio") + " · " + state.title;
  }

  function onMessage(message) {
    switch (message.type) {
      case "welcome":
        ServerClock.sample(message.now);
        state.stream = message.stream;
        renderStream();
        for (const id of ["#room-card", "#orders-card", "#audience-card"]) $(id).classList.remove("hide");
        $("#login-card").classList.add("hide");
        state.products = new Map(message.products.map((product) => [product.sku, product]));
        state.order = message.products.map((product) => product.sku);
        state.pinned = message.pinned;
        setLive(message.live, message.title || room);
        recordViewers(message.viewers);
        renderProducts();
        message.comments.forEach(addComment);
        break;
      case "room": setLive(message.live, message.title); break;
      case "stream": state.stream = message.stream; renderStream(); break;
      case "product":
        if (!state.products.has(message.sku)) state.order.push(message.sku);
        state.products.set(message.sku, message);
        renderProducts();
        break;
      case "pin": state.pinned = message.sku; renderProducts(); break;
      case "sale": { const p = state.products.get(message.sku); if (p) { p.sale = message; renderProducts(); } break; }
      case "stock": { const p = state.products.get(message.sku); if (p) { p.left = message.left; renderProducts(); } break; }
      case "order": addOrder(message); break;
      case "order.update": updateOrder(message); break;
      case "viewers": recordViewers(message.count); break;
      case "comment": if (message.shown) addComment(message); break;
      case "error": $("#studio-error").textContent = message.message; setTimeout(() => { $("#studio-error").textContent = ""; }, 5000); break;
    }
  }

  function connect(token) {
    socket = new RoomSocket(room, token, onMessage, (status) => {
      $("#connection").textContent = status === "open" ? "" : t("conn." + status);
    });
  }

  I18n.init(() => {
    setLive(state.live);
    renderProducts();
    if (state.viewerCount !== undefined) $("#viewers").textContent = t("viewers", { n: state.viewerCount });
    for (const order of state.orders.values()) renderOrder(order);
  });
  setLive(false);
  $("#stream-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const url = $("#stream-url").value.trim();
    if (!url) return send({ type: "stream", url: null });
    const message = { type: "stream", url };
    if ($("#stream-kind").value) message.kind = $("#stream-kind").value;
    if ($("#stream-poster").value.trim()) message.poster = $("#stream-poster").value.trim();
    send(message);
  });
  $("#clear-stream").addEventListener("click", () => { $("#stream-url").value = ""; send({ type: "stream", url: null }); });
  $("#login-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    try { connect((await login($("#login-name").value.trim(), "streamer", room)).token); }
    catch (error) { $("#login-error").textContent = error.message; }
  });
  $("#open-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const title = $("#room-title").value.trim();
    send(title ? { type: "room.open", title } : { type: "room.open" });
  });
  $("#close-room").addEventListener("click", () => send({ type: "room.close" }));
  $("#add-form").addEventListener("submit", (event) => {
    event.preventDefault();
    send({
      type: "product.add", sku: $("#add-sku").value.trim(), title: $("#add-title").value.trim(),
      price: Math.round(Number($("#add-price").value) * 100), stock: Number($("#add-stock").value),
      ...($("#add-image").value.trim() ? { image: $("#add-image").value.trim() } : {}),
    });
    event.target.reset();
  });
  $("#set-slowmode").addEventListener("click", () => send({ type: "slowmode", seconds: Number($("#slowmode").value) || 0 }));
  const saved = savedLogin("streamer", room);
  if (saved) connect(saved.token);
})();
