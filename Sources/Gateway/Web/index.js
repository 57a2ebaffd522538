"use strict";
(() => {
  const { $, el } = Hometown;
  const t = I18n.t;
  let rooms = null;

  function render() {
    const list = $("#rooms");
    if (rooms === null) return;
    if (rooms === "unreachable") return list.replaceChildren(el("li", { class: "muted", text: t("index.unreachable") }));
    list.replaceChildren(...(rooms.length ? rooms.map((room) => el("li", { class: "card" },
      el("a", { href: "/room/" + encodeURIComponent(room.room) },
        el("div", { class: "row" },
          el("span", { class: "badge" + (room.live ? " live" : ""), text: t(room.live ? "live" : "offline") }),
          el("strong", { text: room.title || room.room })),
        el("div", { class: "muted", text: `${room.room} · ${t("viewers", { n: room.viewers })}` })))) :
      [el("li", { class: "muted", text: t("index.none") })]));
  }

  async function refresh() {
    try { rooms = await (await fetch("/api/rooms")).json(); } catch { rooms = "unreachable"; }
    render();
  }

  I18n.init(render);
  $("#studio-form").addEventListener("submit", (event) => {
    event.preventDefault();
    location.href = "/studio/" + encodeURIComponent($("#studio-room").value.trim());
  });
  refresh();
  setInterval(refresh, 5000);
})();
