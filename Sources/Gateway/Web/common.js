// Shared helpers for the Hometown pages: tokens from the development login, a reconnecting room
// socket that resumes with since/epoch, and small DOM helpers. No libraries, no build step.
"use strict";

const Hometown = (() => {
  const $ = (selector, root = document) => root.querySelector(selector);

  function el(tag, props = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props)) {
      if (key === "class") node.className = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else if (key === "text") node.textContent = value;
      else node.setAttribute(key, value);
    }
    for (const child of children) if (child != null) node.append(child);
    return node;
  }

  /** ¥39.90 from 3990 cents (fen). */
  function price(cents) { return "¥" + (cents / 100).toFixed(2); }

  function roomFromPath() { return decodeURIComponent(location.pathname.split("/")[2] || ""); }

  /** A token saved for this role (and room), or null. */
  function savedLogin(role, room) {
    try { return JSON.parse(localStorage.getItem(`hometown.login.${role}.${room || ""}`)); } catch { return null; }
  }

  /** Signs in through the development login and remembers the token. */
  async function login(name, role, room) {
    const query = new URLSearchParams({ name, role });
    if (room && role === "streamer") query.set("room", room);
    const response = await fetch("/api/dev/token?" + query);
    if (!response.ok) throw new Error(await response.text());
    const login = await response.json();
    localStorage.setItem(`hometown.login.${role}.${role === "streamer" ? room : ""}`, JSON.stringify(login));
    return login;
  }

  /**
   * A room connection that reconnects with exponential backoff and jitter, resuming with
   * ?since=SEQ&epoch=E so a network drop costs no comments (or says the state must be reloaded).
   */
  class RoomSocket {
    constructor(room, token, onMessage, onState) {
      Object.assign(this, { room, token, onMessage, onState, seq: null, epoch: null, attempt: 0, closed: false });
      this.connect();
    }
    connect() {
      const scheme = location.protocol === "https:" ? "wss:" : "ws:";
      const query = new URLSearchParams();
      if (this.token) query.set("token", this.token);
      if (this.seq !== null && this.epoch) { query.set("since", this.seq); query.set("epoch", this.epoch); }
      this.socket = new WebSocket(`${scheme}//${location.host}/live/${encodeURIComponent(this.room)}?${query}`);
      this.socket.onopen = () => { this.attempt = 0; this.onState("open"); };
      this.socket.onmessage = (event) => {
        let message;
        try { message = JSON.parse(event.data); } catch { return; }
        if (message.type === "welcome") {
          this.epoch = message.epoch;
          this.seq = message.seq;
        } else if (message.type === "comment" && message.shown && message.seq > (this.seq || 0)) {
          this.seq = message.seq;
        }
        this.onMessage(message);
      };
      this.socket.onclose = (event) => {
        if (this.closed) return;
        if (event.code === 4003) { this.onState("banned"); return; }
        // 4010: an operator closed the room; there is nothing to come back to.
        if (event.code === 4010) { this.onState("closed"); return; }
        this.onState("reconnecting");
        const delay = Math.min(15000, 500 * 2 ** this.attempt) * (0.5 + Math.random());
        this.attempt += 1;
        setTimeout(() => this.connect(), delay);
      };
    }
    send(message) {
      if (this.socket.readyState === WebSocket.OPEN) { this.socket.send(JSON.stringify(message)); return true; }
      return false;
    }
    close() { this.closed = true; this.socket.close(); }
  }

  /**
   * The server's clock as this page estimates it, so every viewer's countdown reaches zero at the
   * same moment whatever their own clock says. Each welcome carries the server's time; the
   * offset is the largest (server − local) seen, the sample least delayed on its way here.
   */
  const ServerClock = {
    offset: null,
    sample(serverNow) {
      if (typeof serverNow !== "number" || serverNow <= 0) return;
      const offset = serverNow - Date.now();
      if (this.offset === null || offset > this.offset) this.offset = offset;
    },
    now() { return Date.now() + (this.offset || 0); },
  };

  /** m:ss until `at` (ms, server time), never negative. */
  function timeLeft(at) {
    const seconds = Math.max(0, Math.ceil((at - ServerClock.now()) / 1000));
    return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}`;
  }

  function newRef() {
    if (crypto.randomUUID) return crypto.randomUUID();
    return Date.now().toString(36) + Math.random().toString(36).slice(2);
  }

  return { $, el, price, roomFromPath, savedLogin, login, RoomSocket, newRef, ServerClock, timeLeft };
})();
