"use strict";
// One language at a time: Chinese or English, chosen from the browser, switchable, remembered.
// Static text carries data-i18n (text), data-i18n-placeholder, data-i18n-label (aria-label) or
// data-i18n-title; scripts call I18n.t(key, values).
const I18n = (() => {
  const strings = {
    en: {
      "lang.switch": "中文", "lang.switch.label": "Switch to Chinese",
      "nav.rooms": "All rooms", "live": "LIVE", "offline": "offline",
      "viewers": "{n} watching", "likes": "{n} likes",
      "conn.reconnecting": "reconnecting…", "conn.banned": "removed from this room", "conn.closed": "this room has closed",
      "stage.label": "Live stream", "stage.none": "No video for this room yet", "stage.loading": "Connecting to the stream…",
      "stage.stopped": "The stream stopped — trying again…", "stage.offline": "This room is not live right now",
      "stage.cannot": "This browser cannot play this stream", "stage.unmute": "Tap to unmute",
      "product.left": "{n} left", "product.limit": "limit {n} each",
      "sale.starts": "Starts in {t}", "sale.live": "On sale", "sale.ends": "ends in {t}", "sale.soldout": "Sold out",
      "sale.ended": "Sale ended", "buy": "Buy now", "buy.soldout": "Sold out", "buy.soon": "Starts in {t}", "buy.signin": "Sign in to buy",
      "like": "Like", "like.label": "Send a like",
      "result.accepted": "Order placed!", "result.sold_out": "Sold out", "result.limit_reached": "Limit reached",
      "result.not_on_sale": "Not on sale yet", "result.invalid": "Invalid order", "result.unavailable": "Please try again",
      "pay.within": "Pay within {t}", "pay.now": "Pay now", "pay.cancel": "Cancel order",
      "update.paid": "Paid", "update.expired": "Payment time ran out; the units went back", "update.buyer": "Order cancelled",
      "update.shop": "Cancelled by the shop",
      "bought": "{name} just bought {qty}", "comments": "Comments", "products": "Products", "newer": "New comments ↓",
      "comment.placeholder": "Say something", "comment.label": "Your comment", "send": "Send",
      "login.placeholder": "Your name to chat and buy", "login.label": "Your name", "join": "Join",
      "muted": "You are muted",
      "studio": "Studio", "studio.signin": "Sign in as the streamer", "studio.name": "Your name", "signin": "Sign in",
      "studio.room": "Room", "studio.title": "Title", "studio.golive": "Go live", "studio.end": "End",
      "studio.stream": "Video", "studio.stream.url": "Stream URL (HLS .m3u8, MP4/WebM, or WHEP)",
      "studio.stream.kind": "Kind", "studio.stream.auto": "from the URL", "studio.stream.poster": "Poster image URL",
      "studio.stream.set": "Set video", "studio.stream.clear": "Remove", "studio.stream.preview": "Preview",
      "studio.products": "Products", "studio.add": "Add a product", "studio.sku": "SKU", "studio.price": "Price ¥",
      "studio.stock": "Stock", "studio.image": "Picture URL (optional)", "studio.addbutton": "Add",
      "studio.sale": "Flash sale", "studio.limit": "Limit per buyer", "studio.countdown": "Countdown s", "studio.length": "Length s",
      "studio.window": "Pay within s", "studio.slowmode": "Slow mode s", "studio.set": "Set",
      "studio.product": "Product", "studio.left": "Left", "studio.salestate": "Sale",
      "studio.pin": "Pin", "studio.start": "Start sale", "studio.stop": "Stop", "studio.restock": "Restock",
      "studio.restock.qty": "Restock quantity", "studio.pinned": "pinned",
      "studio.orders": "Orders", "studio.units": "Units", "studio.revenue": "Revenue", "studio.unpaid": "Unpaid",
      "studio.cancelled": "Cancelled", "studio.revenue.note": "Revenue counts paid orders, and accepted orders of sales without a payment window (final).",
      "studio.audience": "Viewers over time", "studio.mute": "Mute", "studio.ban": "Ban", "notconnected": "Not connected",
      "order.paid": "paid", "order.cancelled": "cancelled ({reason})", "order.accepted": "accepted", "order.unpaid": "unpaid · {t} left to pay",
      "index.title": "Hometown · live rooms of hometown goods", "index.live": "Live now", "index.sell": "Sell something",
      "index.sell.note": "Open the studio for a room (a new name creates it).", "index.room": "Room name, e.g. bamboo",
      "index.open": "Open studio", "index.none": "No rooms yet.", "index.unreachable": "Cannot reach the server.", "loading": "Loading…",
    },
    zh: {
      "lang.switch": "English", "lang.switch.label": "切换到英文",
      "nav.rooms": "全部直播间", "live": "直播中", "offline": "未开播",
      "viewers": "{n} 人在看", "likes": "{n} 赞",
      "conn.reconnecting": "重新连接中…", "conn.banned": "你已被移出直播间", "conn.closed": "直播间已关闭",
      "stage.label": "直播画面", "stage.none": "主播还没有设置直播画面", "stage.loading": "正在连接直播…",
      "stage.stopped": "直播中断，正在重试…", "stage.offline": "主播暂未开播",
      "stage.cannot": "此浏览器无法播放该直播", "stage.unmute": "点击开启声音",
      "product.left": "剩余 {n}", "product.limit": "每人限购 {n}",
      "sale.starts": "{t} 后开抢", "sale.live": "抢购中", "sale.ends": "{t} 后结束", "sale.soldout": "已抢光",
      "sale.ended": "已结束", "buy": "立即抢购", "buy.soldout": "已抢光", "buy.soon": "{t} 后开抢", "buy.signin": "登录后抢购",
      "like": "点赞", "like.label": "点个赞",
      "result.accepted": "抢购成功！", "result.sold_out": "已抢光", "result.limit_reached": "已达限购",
      "result.not_on_sale": "尚未开售", "result.invalid": "订单无效", "result.unavailable": "请重试",
      "pay.within": "请在 {t} 内付款", "pay.now": "去付款", "pay.cancel": "取消订单",
      "update.paid": "已付款", "update.expired": "支付超时，商品已释放", "update.buyer": "订单已取消", "update.shop": "商家已取消",
      "bought": "{name} 刚刚买了 {qty} 件", "comments": "评论", "products": "商品", "newer": "有新评论 ↓",
      "comment.placeholder": "说点什么", "comment.label": "你的评论", "send": "发送",
      "login.placeholder": "输入昵称，参与聊天和抢购", "login.label": "昵称", "join": "进入",
      "muted": "你已被禁言",
      "studio": "直播后台", "studio.signin": "主播登录", "studio.name": "主播昵称", "signin": "登录",
      "studio.room": "直播间", "studio.title": "标题", "studio.golive": "开播", "studio.end": "下播",
      "studio.stream": "直播画面", "studio.stream.url": "直播地址（HLS .m3u8、MP4/WebM 或 WHEP）",
      "studio.stream.kind": "类型", "studio.stream.auto": "按地址判断", "studio.stream.poster": "封面图片地址",
      "studio.stream.set": "设置画面", "studio.stream.clear": "移除", "studio.stream.preview": "预览",
      "studio.products": "商品", "studio.add": "上架商品", "studio.sku": "货号", "studio.price": "价格 ¥",
      "studio.stock": "库存", "studio.image": "商品图片地址（可选）", "studio.addbutton": "上架",
      "studio.sale": "限时抢购", "studio.limit": "每人限购", "studio.countdown": "倒计时（秒）", "studio.length": "时长（秒）",
      "studio.window": "付款时限（秒）", "studio.slowmode": "慢速模式（秒）", "studio.set": "设置",
      "studio.product": "商品", "studio.left": "剩余", "studio.salestate": "抢购",
      "studio.pin": "置顶", "studio.start": "开始抢购", "studio.stop": "停止", "studio.restock": "补货",
      "studio.restock.qty": "补货数量", "studio.pinned": "已置顶",
      "studio.orders": "订单", "studio.units": "件数", "studio.revenue": "收入", "studio.unpaid": "待付款",
      "studio.cancelled": "已取消", "studio.revenue.note": "收入只计已付款的订单，以及没有付款时限的抢购中已成交的订单。",
      "studio.audience": "在线人数", "studio.mute": "禁言", "studio.ban": "拉黑", "notconnected": "未连接",
      "order.paid": "已付款", "order.cancelled": "已取消（{reason}）", "order.accepted": "已下单", "order.unpaid": "待付款 · 剩 {t}",
      "index.title": "Hometown · 家乡好物直播", "index.live": "正在直播", "index.sell": "我要开播",
      "index.sell.note": "打开直播间的后台（新名字会创建直播间）。", "index.room": "直播间名称，例如 bamboo",
      "index.open": "打开后台", "index.none": "还没有直播间。", "index.unreachable": "无法连接服务器。", "loading": "加载中…",
    },
  };

  function chosen() {
    const saved = localStorage.getItem("hometown.lang");
    if (saved === "en" || saved === "zh") return saved;
    return (navigator.language || "en").toLowerCase().startsWith("zh") ? "zh" : "en";
  }

  let lang = chosen();
  const listeners = [];

  function t(key, values = {}) {
    const text = (strings[lang] && strings[lang][key]) || strings.en[key] || key;
    return text.replace(/\{(\w+)\}/g, (_, name) => (values[name] !== undefined ? values[name] : ""));
  }

  /** Fills every marked element under `root` in the current language. */
  function apply(root = document) {
    document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
    for (const node of root.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
    for (const node of root.querySelectorAll("[data-i18n-placeholder]")) node.placeholder = t(node.dataset.i18nPlaceholder);
    for (const node of root.querySelectorAll("[data-i18n-label]")) node.setAttribute("aria-label", t(node.dataset.i18nLabel));
    for (const node of root.querySelectorAll("[data-i18n-title]")) node.title = t(node.dataset.i18nTitle);
  }

  function set(next) {
    lang = next;
    localStorage.setItem("hometown.lang", next);
    apply();
    for (const listener of listeners) listener(next);
  }

  /** Wires a switch button (#lang) and fills the page now. */
  function init(onChange) {
    if (onChange) listeners.push(onChange);
    const button = document.getElementById("lang");
    if (button) button.addEventListener("click", () => set(lang === "zh" ? "en" : "zh"));
    apply();
  }

  return { t, apply, init, set, get lang() { return lang; } };
})();
