"use strict";
(() => {
  const { $, el } = Hometown;

  async function refresh() {
    const list = $("#rooms");
    try {
      const rooms = await (await fetch("/api/rooms")).json();
      list.replaceChildren(...(rooms.length ? rooms.map((room) => el("li", { class: "card" },
        el("a", { href: "/room/" + encodeURIComponent(room.room) },
          el("div", { class: "row" },
            el("span", { class: "badge" + (room.live ? " live" : ""), text: room.live ? "LIVE" : "offline" }),
            el("strong", { text: room.title || room.room })),
          el("div", { class: "muted", text: `${room.room} · ${room.viewers} watching` })))) :
        [el("li", { class: "muted", text: "No rooms yet." })]));
    } catch {
      list.replaceChildren(el("li", { class: "muted", text: "Cannot reach the server." }));
    }
  }

  $("#studio-form").addEventListener("submit", (event) => {
    event.preventDefault();
    location.href = "/studio/" + encodeURIComponent($("#studio-room").value.trim());
  });
  refresh();
  setInterval(refresh, 5000);
})();
