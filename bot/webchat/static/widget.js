/*
 * COSP assistant: accessible web chat widget (Rasa socket.io channel).
 *
 * Embed with one tag:
 *   <script src="https://host/webchat/widget.js" data-server-url="https://host"
 *           data-socket-url="https://host:5005" data-title="Ask about COSP groups"
 *           data-primary-colour="#005eb8" data-greeting="/greet" defer></script>
 *
 * Plain ES2017, no build step. Message text is only ever rendered with text nodes
 * (never innerHTML); links are built as elements with checked schemes.
 */
(function () {
  "use strict";

  if (window.COSPWebchat) {
    return; // already on the page
  }

  // ---------------------------------------------------------------- settings

  var SESSION_KEY = "cosp-webchat-session";
  var TRANSCRIPT_KEY = "cosp-webchat-transcript";
  var MAX_CHARS = 2000;
  var WARN_AT = 1800;
  var TYPING_TIMEOUT_MS = 15000;
  var CONFIRM_TIMEOUT_MS = 4000;
  var MAX_ITEMS = 200;
  var DEFAULT_COLOUR = "#005eb8";
  var PRIVACY_NOTICE =
    "Not monitored by staff. What you type is only shared with the team if you make a referral and agree.";
  // Below this width the panel fills the screen, so it acts as a modal dialog: Tab stays inside
  // (nothing behind it can take focus unseen), Escape or the close button leave it.
  var FULL_SCREEN = "(max-width: 479px)";

  function isFullScreen() {
    return !!(window.matchMedia && window.matchMedia(FULL_SCREEN).matches);
  }

  function keepFocusInPanel(event) {
    var focusable = Array.prototype.filter.call(
      ui.panel.querySelectorAll("button, textarea, a[href], [tabindex]:not([tabindex='-1'])"),
      function (node) {
        return !node.disabled && node.offsetParent !== null;
      }
    );
    if (!focusable.length) {
      return;
    }
    var first = focusable[0];
    var last = focusable[focusable.length - 1];
    if (event.shiftKey && document.activeElement === first) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && document.activeElement === last) {
      event.preventDefault();
      first.focus();
    }
  }

  var script =
    document.currentScript ||
    (function () {
      var all = document.querySelectorAll('script[src*="widget.js"]');
      return all.length ? all[all.length - 1] : null;
    })();

  function attr(name) {
    return script ? script.getAttribute("data-" + name) : null;
  }

  function trimSlash(url) {
    return String(url || "").trim().replace(/\/+$/, "");
  }

  function isHttpUrl(url) {
    return /^https?:\/\//i.test(url);
  }

  function originOfScript() {
    try {
      return new URL(script.src, window.location.href).origin;
    } catch (e) {
      return "";
    }
  }

  // data-server-url="" means "same origin"; a missing attribute means "where widget.js came from".
  var serverAttr = attr("server-url");
  var serverUrl = serverAttr === null ? originOfScript() : trimSlash(serverAttr);
  if (serverUrl && !isHttpUrl(serverUrl)) {
    serverUrl = "";
  }
  var socketUrl = trimSlash(attr("socket-url")) || serverUrl || window.location.origin;
  if (!isHttpUrl(socketUrl)) {
    socketUrl = window.location.origin;
  }
  var title = (attr("title") || "").trim() || "Ask about our service";
  var greeting = (attr("greeting") || "").trim() || "/greet";
  var colourAttr = (attr("primary-colour") || attr("primary-color") || "").trim();
  var primary = parseHex(colourAttr) ? colourAttr : DEFAULT_COLOUR;

  // ------------------------------------------------------------- colour maths

  function parseHex(value) {
    var m = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(String(value || "").trim());
    if (!m) {
      return null;
    }
    var hex = m[1];
    if (hex.length === 3) {
      hex = hex[0] + hex[0] + hex[1] + hex[1] + hex[2] + hex[2];
    }
    return [0, 2, 4].map(function (i) {
      return parseInt(hex.substr(i, 2), 16);
    });
  }

  function luminance(rgb) {
    var c = rgb.map(function (v) {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
  }

  function contrast(a, b) {
    var la = luminance(a);
    var lb = luminance(b);
    return (Math.max(la, lb) + 0.05) / (Math.min(la, lb) + 0.05);
  }

  function toHex(rgb) {
    return (
      "#" +
      rgb
        .map(function (v) {
          var s = Math.max(0, Math.min(255, Math.round(v))).toString(16);
          return s.length === 1 ? "0" + s : s;
        })
        .join("")
    );
  }

  var WHITE = [255, 255, 255];
  var DARK = [33, 43, 50]; // NHS text colour #212b32
  var BOT_BG = [240, 244, 245]; // #f0f4f5
  var primaryRgb = parseHex(primary);
  // Text on the primary colour: white if it passes AA, otherwise the dark text colour.
  var onPrimary = contrast(primaryRgb, WHITE) >= 4.5 ? "#ffffff" : "#212b32";
  var primaryDark = toHex(
    primaryRgb.map(function (v) {
      return v * 0.75;
    })
  );
  if (onPrimary !== "#ffffff") {
    primaryDark = toHex(
      primaryRgb.map(function (v) {
        return v + (255 - v) * 0.35;
      })
    );
  }
  var primaryShadow = toHex(
    primaryRgb.map(function (v) {
      return v * 0.55;
    })
  );
  // Links in bot bubbles: the primary colour if it reads on the bubble, otherwise NHS blue.
  var linkColour = contrast(primaryRgb, BOT_BG) >= 4.5 ? primary : DEFAULT_COLOUR;

  // ------------------------------------------------------------------ storage

  function storageGet(store, key) {
    try {
      return window[store].getItem(key);
    } catch (e) {
      return null;
    }
  }

  function storageSet(store, key, value) {
    try {
      if (value === null) {
        window[store].removeItem(key);
      } else {
        window[store].setItem(key, value);
      }
    } catch (e) {
      /* storage full or disabled: the chat still works for this page */
    }
  }

  function newSessionId() {
    var c = window.crypto || window.msCrypto;
    if (c && typeof c.randomUUID === "function") {
      return c.randomUUID().replace(/-/g, "");
    }
    var bytes = new Uint8Array(16);
    c.getRandomValues(bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    return Array.prototype.map
      .call(bytes, function (b) {
        return (b < 16 ? "0" : "") + b.toString(16);
      })
      .join("");
  }

  var SESSION_RE = /^[0-9a-f]{32}$/;
  var sessionId = null;

  function getSessionId() {
    if (sessionId) {
      return sessionId;
    }
    var stored = storageGet("localStorage", SESSION_KEY);
    if (stored && SESSION_RE.test(stored)) {
      sessionId = stored;
    } else {
      sessionId = newSessionId();
      storageSet("localStorage", SESSION_KEY, sessionId);
    }
    return sessionId;
  }

  function renewSessionId() {
    sessionId = newSessionId();
    storageSet("localStorage", SESSION_KEY, sessionId);
    return sessionId;
  }

  // Transcript: {v, sessionId, items: [{who: "bot"|"user", text, buttons?, used?, chosen?}]}
  var transcript = loadTranscript();

  function emptyTranscript() {
    return { v: 1, sessionId: getSessionId(), items: [] };
  }

  function loadTranscript() {
    var raw = storageGet("sessionStorage", TRANSCRIPT_KEY);
    if (!raw) {
      return emptyTranscript();
    }
    try {
      var data = JSON.parse(raw);
      if (!data || data.v !== 1 || !Array.isArray(data.items) || data.sessionId !== getSessionId()) {
        // Another tab started again, or an old format: this transcript is not the live conversation.
        return emptyTranscript();
      }
      data.items = data.items.filter(function (item) {
        return item && (item.who === "bot" || item.who === "user") && typeof item.text === "string";
      });
      data.items.forEach(function (item) {
        if (item.who === "bot") {
          item.buttons = cleanButtons(item.buttons);
          item.used = !!item.used;
          item.chosen = typeof item.chosen === "number" ? item.chosen : -1;
        }
      });
      return data;
    } catch (e) {
      return emptyTranscript();
    }
  }

  function saveTranscript() {
    if (transcript.items.length > MAX_ITEMS) {
      transcript.items = transcript.items.slice(-MAX_ITEMS);
    }
    transcript.sessionId = getSessionId();
    storageSet("sessionStorage", TRANSCRIPT_KEY, JSON.stringify(transcript));
  }

  function cleanButtons(list) {
    if (!Array.isArray(list)) {
      return [];
    }
    return list
      .filter(function (b) {
        return b && (typeof b.title === "string" || typeof b.payload === "string");
      })
      .slice(0, 20)
      .map(function (b) {
        var t = typeof b.title === "string" ? b.title : b.payload;
        var p = typeof b.payload === "string" && b.payload ? b.payload : t;
        return { title: t, payload: p };
      });
  }

  // ------------------------------------------------------------------ linkify

  var URL_SRC = "https?:\\/\\/[^\\s<>\"'`]+";
  var EMAIL_SRC = "[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\\.[A-Za-z0-9-]+)*\\.[A-Za-z]{2,}";
  var PHONE_SRC =
    "(?:\\+44\\s?(?:\\(0\\)\\s?)?\\d{2,4}|\\(?0\\d{2,4}\\)?)[\\s-]?\\d{3,4}[\\s-]?\\d{3,4}" +
    "|0800[\\s-]?1111|116[\\s-]?123|999|111";
  var LINK_RE = new RegExp("(" + URL_SRC + ")|(" + EMAIL_SRC + ")|(" + PHONE_SRC + ")", "g");

  function isWordChar(ch) {
    return !!ch && /[A-Za-z0-9]/.test(ch);
  }

  function trimUrl(url) {
    var out = url;
    for (;;) {
      var last = out.charAt(out.length - 1);
      if (/[.,;:!?'"*]/.test(last)) {
        out = out.slice(0, -1);
      } else if (last === ")" && (out.match(/\(/g) || []).length < (out.match(/\)/g) || []).length) {
        out = out.slice(0, -1);
      } else if (last === "]" && out.indexOf("[") === -1) {
        out = out.slice(0, -1);
      } else {
        return out;
      }
    }
  }

  function phoneHref(match) {
    var digits = match.replace(/[^\d]/g, "");
    if (/^\s*\+/.test(match)) {
      // +44 (0)1472 ... : drop the bracketed trunk 0
      digits = digits.replace(/^440/, "44");
      return digits.length >= 11 && digits.length <= 12 ? "+" + digits : null;
    }
    if (digits.length <= 3 || digits === "116123" || digits === "08001111") {
      return digits;
    }
    return digits.charAt(0) === "0" && (digits.length === 10 || digits.length === 11) ? digits : null;
  }

  // Returns [{text} | {text, href, external}] pieces for a message.
  function linkPieces(text) {
    var pieces = [];
    var last = 0;
    var m;
    LINK_RE.lastIndex = 0;
    while ((m = LINK_RE.exec(text)) !== null) {
      var start = m.index;
      var found = m[0];
      var href = null;
      var external = false;
      var before = text.charAt(start - 1);
      if (m[1]) {
        found = trimUrl(found);
        if (!isWordChar(before) && found.length > 8) {
          try {
            var u = new URL(found);
            if (u.protocol === "http:" || u.protocol === "https:") {
              href = u.href;
              external = true;
            }
          } catch (e) {
            href = null;
          }
        }
      } else if (m[2]) {
        if (!isWordChar(before)) {
          href = "mailto:" + found;
        }
      } else {
        var after = text.charAt(start + found.length);
        var after2 = text.substr(start + found.length, 2);
        var okBefore = !isWordChar(before) && !/[£$€+\/.,\-]/.test(before);
        var okAfter = !isWordChar(after) && !/^[.,]\d/.test(after2);
        var tel = okBefore && okAfter ? phoneHref(found) : null;
        if (tel) {
          href = "tel:" + tel;
        }
      }
      if (!href) {
        // Not a link here: move on one character so a shorter match later can still be found.
        LINK_RE.lastIndex = start + 1;
        continue;
      }
      if (start > last) {
        pieces.push({ text: text.slice(last, start) });
      }
      pieces.push({ text: found, href: href, external: external });
      last = start + found.length;
      LINK_RE.lastIndex = last;
    }
    if (last < text.length) {
      pieces.push({ text: text.slice(last) });
    }
    return pieces;
  }

  // --------------------------------------------------------------------- DOM

  function el(tag, props, children) {
    var node = document.createElement(tag);
    if (props) {
      Object.keys(props).forEach(function (key) {
        var value = props[key];
        if (value === null || value === undefined || value === false) {
          return;
        }
        if (key === "className") {
          node.className = value;
        } else if (key === "text") {
          node.textContent = value;
        } else {
          node.setAttribute(key, value === true ? "" : String(value));
        }
      });
    }
    (children || []).forEach(function (child) {
      if (child) {
        node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
      }
    });
    return node;
  }

  var SVG_NS = "http://www.w3.org/2000/svg";

  function icon(pathData, className) {
    var svg = document.createElementNS(SVG_NS, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("width", "24");
    svg.setAttribute("height", "24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    svg.setAttribute("class", className);
    var path = document.createElementNS(SVG_NS, "path");
    path.setAttribute("d", pathData);
    path.setAttribute("fill", "currentColor");
    svg.appendChild(path);
    return svg;
  }

  var ICON_CHAT =
    "M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9.4l-4.7 3.8A1 1 0 0 1 3 21v-3.1A2 2 0 0 1 2 16V5a2 2 0 0 1 2-2zm3 6.5a1.5 1.5 0 1 0 0 3 1.5 1.5 0 0 0 0-3zm5 0a1.5 1.5 0 1 0 0 3 1.5 1.5 0 0 0 0-3zm5 0a1.5 1.5 0 1 0 0 3 1.5 1.5 0 0 0 0-3z";
  var ICON_CLOSE =
    "M18.7 5.3a1 1 0 0 1 0 1.4L13.4 12l5.3 5.3a1 1 0 0 1-1.4 1.4L12 13.4l-5.3 5.3a1 1 0 0 1-1.4-1.4l5.3-5.3-5.3-5.3a1 1 0 0 1 1.4-1.4l5.3 5.3 5.3-5.3a1 1 0 0 1 1.4 0z";
  var ICON_TICK = "M9.5 16.6 4.9 12l-1.4 1.4 6 6 11-11-1.4-1.4z";

  var ui = {};

  function build() {
    var titleId = "cosp-webchat-title";

    ui.launcherUnread = el("span", { className: "cosp-vh" });
    ui.launcher = el(
      "button",
      {
        type: "button",
        id: "cosp-webchat-launcher",
        className: "cosp-launcher",
        "aria-expanded": "false",
        "aria-controls": "cosp-webchat-panel"
      },
      [
        icon(ICON_CHAT, "cosp-launcher__icon"),
        el("span", { className: "cosp-launcher__label", text: "Chat with us" }),
        ui.launcherUnread,
        el("span", { className: "cosp-launcher__dot", "aria-hidden": "true" })
      ]
    );

    ui.restart = el("button", {
      type: "button",
      id: "cosp-webchat-restart",
      className: "cosp-header__button",
      text: "Start again"
    });
    ui.close = el(
      "button",
      {
        type: "button",
        id: "cosp-webchat-close",
        className: "cosp-header__button cosp-header__close",
        "aria-label": "Close chat"
      },
      [icon(ICON_CLOSE, "cosp-close__icon")]
    );
    var header = el("div", { className: "cosp-header" }, [
      el("h2", { id: titleId, className: "cosp-header__title", text: title }),
      el("div", { className: "cosp-header__actions" }, [ui.restart, ui.close])
    ]);

    var notice = el("p", { className: "cosp-notice", text: PRIVACY_NOTICE });
    ui.status = el("div", { id: "cosp-webchat-status", className: "cosp-status", role: "status" });

    ui.log = el("div", {
      id: "cosp-webchat-log",
      className: "cosp-log",
      role: "log",
      "aria-live": "polite",
      "aria-relevant": "additions",
      "aria-label": "Conversation",
      tabindex: "0"
    });

    ui.typing = el("div", {
      id: "cosp-webchat-typing",
      className: "cosp-typing",
      role: "status"
    });

    ui.input = el("textarea", {
      id: "cosp-webchat-input",
      className: "cosp-input",
      rows: "2",
      maxlength: String(MAX_CHARS),
      autocomplete: "off",
      "aria-describedby": "cosp-webchat-counter cosp-webchat-hint"
    });
    ui.send = el("button", { type: "submit", id: "cosp-webchat-send", className: "cosp-send", text: "Send" });
    ui.counter = el("span", { id: "cosp-webchat-counter", className: "cosp-counter", text: "0 / " + MAX_CHARS });
    ui.counterStatus = el("div", { id: "cosp-webchat-counter-status", className: "cosp-vh", role: "status" });
    ui.form = el("form", { className: "cosp-form", novalidate: true }, [
      el("label", { for: "cosp-webchat-input", className: "cosp-label", text: "Type your message" }),
      el("div", { className: "cosp-form__row" }, [ui.input, ui.send]),
      el("div", { className: "cosp-form__meta" }, [
        el("span", {
          id: "cosp-webchat-hint",
          className: "cosp-vh",
          text: "characters used. Press Enter to send, or Shift and Enter for a new line."
        }),
        ui.counter
      ]),
      ui.counterStatus
    ]);

    ui.newTab = el("span", { id: "cosp-webchat-newtab", className: "cosp-vh", text: "(opens in a new tab)" });

    ui.panel = el(
      "section",
      {
        id: "cosp-webchat-panel",
        className: "cosp-panel",
        "aria-labelledby": titleId,
        hidden: true
      },
      [header, notice, ui.status, ui.log, ui.typing, ui.form, ui.newTab]
    );

    ui.root = el(
      "aside",
      { id: "cosp-webchat", className: "cosp-webchat", "aria-label": "Chat" },
      [ui.launcher, ui.panel]
    );
    ui.root.style.display = "none"; // until widget.css has loaded (or open() is called)
    ui.root.style.setProperty("--cosp-primary", primary);
    ui.root.style.setProperty("--cosp-on-primary", onPrimary);
    ui.root.style.setProperty("--cosp-primary-dark", primaryDark);
    ui.root.style.setProperty("--cosp-link", linkColour);
    ui.root.style.setProperty("--cosp-primary-shadow", primaryShadow);
    document.body.appendChild(ui.root);

    var updateModality = function () {
      if (isFullScreen()) {
        ui.panel.setAttribute("role", "dialog");
        ui.panel.setAttribute("aria-modal", "true");
      } else {
        ui.panel.removeAttribute("role");
        ui.panel.removeAttribute("aria-modal");
      }
    };
    updateModality();
    if (window.matchMedia) {
      var query = window.matchMedia(FULL_SCREEN);
      if (query.addEventListener) {
        query.addEventListener("change", updateModality);
      }
    }
    ui.launcher.addEventListener("click", function () {
      if (isOpen()) {
        close(true);
      } else {
        open();
      }
    });
    ui.launcher.addEventListener("keydown", function (event) {
      if ((event.key === "Escape" || event.key === "Esc") && isOpen()) {
        event.preventDefault();
        close(true);
      }
    });
    ui.close.addEventListener("click", function () {
      close(true);
    });
    ui.restart.addEventListener("click", restart);
    ui.panel.addEventListener("keydown", function (event) {
      if (event.key === "Escape" || event.key === "Esc") {
        event.preventDefault();
        close(true);
      } else if (event.key === "Tab" && isFullScreen()) {
        keepFocusInPanel(event);
      }
    });
    ui.form.addEventListener("submit", function (event) {
      event.preventDefault();
      sendTyped();
    });
    // Keep the focus (and a phone's keyboard) in the text box when Send is pressed.
    ui.send.addEventListener("mousedown", function (event) {
      if (document.activeElement === ui.input) {
        event.preventDefault();
      }
    });
    ui.input.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
        event.preventDefault();
        sendTyped();
      }
    });
    ui.input.addEventListener("input", updateCounter);

    renderAll();
  }

  function loadStyles(done) {
    var href = serverUrl + "/webchat/widget.css";
    var existing = document.querySelector('link[data-cosp-webchat="css"]');
    if (existing) {
      done();
      return;
    }
    var link = el("link", { rel: "stylesheet", href: href, "data-cosp-webchat": "css" });
    var finished = false;
    function finish() {
      if (!finished) {
        finished = true;
        done();
      }
    }
    link.addEventListener("load", finish);
    link.addEventListener("error", finish);
    setTimeout(finish, 3000);
    document.head.appendChild(link);
  }

  // ------------------------------------------------------------- rendering

  function bubble(who, text) {
    var node = el("div", { className: "cosp-msg cosp-msg--" + who }, [
      el("span", { className: "cosp-vh", text: who === "bot" ? "Assistant: " : "You: " })
    ]);
    var body = el("span", { className: "cosp-msg__text" });
    linkPieces(text).forEach(function (piece) {
      if (!piece.href) {
        body.appendChild(document.createTextNode(piece.text));
        return;
      }
      var a = document.createElement("a");
      a.className = "cosp-link";
      a.setAttribute("href", piece.href);
      a.textContent = piece.text;
      if (piece.external) {
        a.setAttribute("target", "_blank");
        a.setAttribute("rel", "noopener noreferrer");
        a.setAttribute("aria-describedby", "cosp-webchat-newtab");
      }
      body.appendChild(a);
    });
    node.appendChild(body);
    return node;
  }

  function buttonGroup(item) {
    var group = el("div", { className: "cosp-buttons", role: "group", "aria-label": "Reply options" });
    item.buttons.forEach(function (b, index) {
      var button = el("button", { type: "button", className: "cosp-button" }, [
        el("span", { className: "cosp-button__tick", "aria-hidden": "true" }, [icon(ICON_TICK, "cosp-tick__icon")]),
        el("span", { className: "cosp-button__label", text: b.title })
      ]);
      button.addEventListener("click", function (event) {
        chooseButton(item, index, group, event);
      });
      group.appendChild(button);
    });
    item._group = group;
    applyGroupState(item);
    return group;
  }

  function applyGroupState(item) {
    var group = item._group;
    if (!group) {
      return;
    }
    var buttons = group.querySelectorAll("button");
    Array.prototype.forEach.call(buttons, function (button, index) {
      if (item.used) {
        button.disabled = true;
        button.setAttribute("aria-disabled", "true");
      } else {
        button.disabled = false;
        button.removeAttribute("aria-disabled");
      }
      if (item.used && index === item.chosen) {
        button.setAttribute("aria-pressed", "true");
        button.classList.add("cosp-button--chosen");
      } else {
        button.removeAttribute("aria-pressed");
        button.classList.remove("cosp-button--chosen");
      }
    });
    group.classList.toggle("cosp-buttons--used", !!item.used);
  }

  function renderItem(item) {
    var entry = el("div", { className: "cosp-entry cosp-entry--" + item.who });
    if (item.text) {
      entry.appendChild(bubble(item.who, item.text));
    }
    if (item.who === "bot" && item.buttons && item.buttons.length) {
      entry.appendChild(buttonGroup(item));
    }
    ui.log.appendChild(entry);
    scrollToEnd();
  }

  function renderAll() {
    while (ui.log.firstChild) {
      ui.log.removeChild(ui.log.firstChild);
    }
    transcript.items.forEach(renderItem);
  }

  function scrollToEnd() {
    ui.log.scrollTop = ui.log.scrollHeight;
  }

  // ------------------------------------------------------------ typing / status

  var typingTimer = null;

  function showTyping() {
    clearTimeout(typingTimer);
    if (!ui.typing.firstChild) {
      ui.typing.appendChild(
        el("span", { className: "cosp-typing__dots", "aria-hidden": "true" }, [
          el("span", { className: "cosp-typing__dot" }),
          el("span", { className: "cosp-typing__dot" }),
          el("span", { className: "cosp-typing__dot" })
        ])
      );
      ui.typing.appendChild(el("span", { className: "cosp-vh", text: "The assistant is typing" }));
    }
    ui.typing.classList.add("cosp-typing--on");
    typingTimer = setTimeout(hideTyping, TYPING_TIMEOUT_MS);
  }

  function hideTyping() {
    clearTimeout(typingTimer);
    ui.typing.classList.remove("cosp-typing--on");
    while (ui.typing.firstChild) {
      ui.typing.removeChild(ui.typing.firstChild);
    }
  }

  // Shown for as long as the chat server can't be reached: never a dead end.
  var RECONNECTING = "Reconnecting\u2026 If someone is in danger, call 999.";

  function setStatus(text) {
    if (ui.status.textContent !== text) {
      ui.status.textContent = text;
    }
    ui.status.classList.toggle("cosp-status--on", !!text);
  }

  function updateCounter() {
    var length = ui.input.value.length;
    ui.counter.textContent = length + " / " + MAX_CHARS;
    var left = MAX_CHARS - length;
    ui.counter.classList.toggle("cosp-counter--near", length >= WARN_AT);
    ui.counterStatus.textContent =
      length >= WARN_AT ? (left === 1 ? "1 character left" : left + " characters left") : "";
  }

  // ------------------------------------------------------------------ socket

  var socket = null;
  var socketLoading = false;
  var ready = false; // connected and the session confirmed
  var queue = []; // {message, session} waiting for a confirmed session
  var confirmTimer = null;
  var quietReconnect = false;
  var rejectedOnce = false;
  var discarding = false; // after "Start again", until the new session is confirmed

  var ioState = "idle"; // idle | loading | ok | failed
  var ioWaiting = [];

  function loadSocketIo(done) {
    if (typeof window.io === "function") {
      ioState = "ok";
      done(true);
      return;
    }
    ioWaiting.push(done);
    if (ioState === "loading") {
      return;
    }
    ioState = "loading";
    var tag = el("script", { src: serverUrl + "/webchat/vendor/socket.io.min.js", "data-cosp-webchat": "socket.io" });
    function finish(ok) {
      ioState = ok ? "ok" : "failed";
      if (!ok && tag.parentNode) {
        tag.parentNode.removeChild(tag); // let a later attempt try again
      }
      var waiting = ioWaiting;
      ioWaiting = [];
      waiting.forEach(function (fn) {
        fn(ok);
      });
    }
    tag.addEventListener("load", function () {
      finish(typeof window.io === "function");
    });
    tag.addEventListener("error", function () {
      finish(false);
    });
    tag.async = true;
    document.head.appendChild(tag);
  }

  function ensureSocket() {
    if (socket || socketLoading) {
      return;
    }
    socketLoading = true;
    loadSocketIo(function (ok) {
      socketLoading = false;
      if (!ok) {
        setStatus("Sorry, the chat is not available right now. Please try again later.");
        hideTyping();
        return;
      }
      connectSocket();
    });
  }

  function connectSocket() {
    socket = window.io(socketUrl, {
      path: "/socket.io",
      transports: ["websocket", "polling"],
      tryAllTransports: true
    });
    socket.on("connect", function () {
      ready = false;
      rejectedOnce = false;
      if (!quietReconnect) {
        setStatus("");
      }
      requestSession();
    });
    socket.on("disconnect", function (reason) {
      ready = false;
      clearTimeout(confirmTimer);
      if (!quietReconnect) {
        setStatus(RECONNECTING);
      }
      if (reason === "io server disconnect") {
        socket.connect(); // the server closed it: socket.io will not retry by itself
      }
    });
    socket.on("connect_error", function () {
      quietReconnect = false;
      setStatus(RECONNECTING);
    });
    socket.on("session_confirm", function () {
      quietReconnect = false;
      discarding = false;
      setStatus("");
      markReady();
    });
    socket.on("session_rejected", function () {
      if (!rejectedOnce) {
        rejectedOnce = true;
        renewSessionId();
        saveTranscript();
        requestSession();
      }
    });
    socket.on("bot_uttered", receive);
  }

  function requestSession() {
    socket.emit("session_request", { session_id: getSessionId() });
    clearTimeout(confirmTimer);
    confirmTimer = setTimeout(markReady, CONFIRM_TIMEOUT_MS);
  }

  function markReady() {
    clearTimeout(confirmTimer);
    if (!socket || !socket.connected) {
      return;
    }
    ready = true;
    discarding = false;
    var pending = queue;
    queue = [];
    pending.forEach(function (item) {
      socket.emit("user_uttered", { message: item.message, session_id: item.session });
    });
  }

  function emitMessage(message) {
    var item = { message: message, session: getSessionId() };
    if (socket && socket.connected && ready) {
      socket.emit("user_uttered", { message: item.message, session_id: item.session });
    } else {
      queue.push(item);
      ensureSocket();
    }
  }

  // ------------------------------------------------------------------ actions

  var greetedThisPage = false;

  function sendGreeting() {
    greetedThisPage = true;
    emitMessage(greeting);
    showTyping();
  }

  function disableOpenGroups() {
    transcript.items.forEach(function (item) {
      if (item.who === "bot" && item.buttons && item.buttons.length && !item.used) {
        item.used = true;
        item.chosen = -1;
        applyGroupState(item);
      }
    });
  }

  function addUser(text) {
    var item = { who: "user", text: text };
    transcript.items.push(item);
    renderItem(item);
  }

  function sendTyped() {
    var text = ui.input.value;
    if (!text.trim()) {
      ui.input.focus();
      return;
    }
    text = text.slice(0, MAX_CHARS);
    disableOpenGroups();
    addUser(text);
    saveTranscript();
    ui.input.value = "";
    updateCounter();
    emitMessage(text);
    showTyping();
    if (document.activeElement !== ui.input) {
      ui.input.focus();
    }
  }

  function chooseButton(item, index, group, event) {
    if (item.used) {
      return;
    }
    var choice = item.buttons[index];
    disableOpenGroups();
    item.used = true;
    item.chosen = index;
    applyGroupState(item);
    addUser(choice.title);
    saveTranscript();
    emitMessage(choice.payload);
    showTyping();
    // The pressed button is now disabled and has lost focus: put it somewhere useful. On a
    // touch screen, the log (so the keyboard does not pop up); otherwise the text box.
    var touch = event && event.detail > 0 && window.matchMedia && window.matchMedia("(pointer: coarse)").matches;
    if (touch) {
      ui.log.focus({ preventScroll: true });
    } else {
      ui.input.focus();
    }
  }

  function receive(data) {
    if (!data || typeof data !== "object") {
      return;
    }
    if (discarding) {
      return; // a late reply from the conversation that was just ended
    }
    var text = typeof data.text === "string" ? data.text : "";
    var buttons = cleanButtons(
      Array.isArray(data.quick_replies) && data.quick_replies.length ? data.quick_replies : data.buttons
    );
    hideTyping();
    if (!text.trim() && !buttons.length) {
      return;
    }
    var item = { who: "bot", text: text, buttons: buttons, used: false, chosen: -1 };
    transcript.items.push(item);
    renderItem(item);
    saveTranscript();
    if (!isOpen()) {
      ui.root.classList.add("cosp-webchat--unread");
      ui.launcherUnread.textContent = " (new message)";
    }
  }

  function restart() {
    var oldSession = getSessionId();
    var live = socket && socket.connected && ready;
    if (live) {
      socket.emit("user_uttered", { message: "/restart", session_id: oldSession });
    }
    // Forget what was waiting for the old conversation. Offline, /restart cannot reach it (the
    // server ties messages to the session the connection asked for), so it is not queued.
    queue = [];
    hideTyping();
    transcript = { v: 1, sessionId: renewSessionId(), items: [] };
    saveTranscript();
    renderAll();
    ui.input.value = "";
    updateCounter();
    if (live) {
      // A fresh connection joins only the new conversation, so a reply to /restart from the
      // old one cannot land in the new transcript. session_request is sent on "connect".
      ready = false;
      quietReconnect = true;
      discarding = true;
      socket.disconnect();
      socket.connect();
    } else if (socket && socket.connected) {
      discarding = true;
      requestSession();
    }
    sendGreeting();
    ui.input.focus();
  }

  // --------------------------------------------------------------- open/close

  function reveal() {
    ui.root.style.removeProperty("display");
  }

  function isOpen() {
    return !!ui.panel && !ui.panel.hidden;
  }

  function open() {
    if (!ui.panel) {
      return;
    }
    reveal();
    if (!isOpen()) {
      ui.panel.hidden = false;
      ui.launcher.setAttribute("aria-expanded", "true");
      ui.root.classList.add("cosp-webchat--open");
      ui.root.classList.remove("cosp-webchat--unread");
      ui.launcherUnread.textContent = "";
      scrollToEnd();
    }
    ensureSocket();
    if (!transcript.items.length && !greetedThisPage) {
      sendGreeting();
    }
    ui.input.focus();
  }

  function close(returnFocus) {
    if (!isOpen()) {
      return;
    }
    var focusWasInside = ui.panel.contains(document.activeElement);
    ui.panel.hidden = true;
    ui.launcher.setAttribute("aria-expanded", "false");
    ui.root.classList.remove("cosp-webchat--open");
    if (returnFocus || focusWasInside) {
      ui.launcher.focus();
    }
  }

  window.COSPWebchat = {
    open: open,
    close: function () {
      close(false);
    },
    isOpen: isOpen,
    sessionId: function () {
      return getSessionId();
    }
  };

  // ------------------------------------------------------------------- start

  function start() {
    if (document.getElementById("cosp-webchat-launcher")) {
      return;
    }
    build();
    loadStyles(reveal);
    // Fetch the socket.io client early (no connection until the chat is opened).
    loadSocketIo(function () {});
  }

  if (document.body) {
    start();
  } else {
    document.addEventListener("DOMContentLoaded", start);
  }
})();
