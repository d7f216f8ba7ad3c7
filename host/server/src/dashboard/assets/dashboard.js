// Warrant's dashboard: the few things a page cannot do without a script.
// Every page works without it; with it, decisions and agent changes happen
// in place, the approvals inbox refreshes itself, intents open in a
// drawer, and amounts and times are shown the viewer's way. Nothing is
// fetched from anywhere but this server.
"use strict";

(function () {
  const locale = navigator.language || "en";
  const status = () => document.getElementById("status");

  function say(text) {
    const region = status();
    if (region) region.textContent = text;
  }

  // Amounts in the viewer's format, exact decimals kept.
  function formatMoney(root) {
    for (const node of root.querySelectorAll("data.money[data-currency]")) {
      try {
        const currency = node.dataset.currency;
        const digits = new Intl.NumberFormat(locale, { style: "currency", currency })
          .resolvedOptions().maximumFractionDigits;
        node.textContent = new Intl.NumberFormat(locale, {
          style: "currency",
          currency,
          minimumFractionDigits: digits,
        }).format(Number(node.value));
      } catch (_) {
        // An unknown currency keeps the server's text.
      }
    }
  }

  function left(ms) {
    if (ms <= 0) return "expired";
    const minutes = Math.floor(ms / 60000);
    if (minutes < 1) return "less than a minute left";
    if (minutes < 60) return minutes + " min left";
    const hours = Math.floor(minutes / 60);
    if (hours < 48) return hours + " h " + (minutes % 60) + " min left";
    return Math.floor(hours / 24) + " days left";
  }

  // Times in the viewer's time zone; countdowns to an expiry.
  function formatTimes(root) {
    for (const node of root.querySelectorAll("time[datetime]")) {
      const at = new Date(node.getAttribute("datetime"));
      if (isNaN(at)) continue;
      const local = at.toLocaleString(locale, { dateStyle: "medium", timeStyle: "short" });
      if (node.hasAttribute("data-countdown")) {
        node.textContent = left(at - Date.now()) + " (" + local + ")";
      } else {
        node.textContent = local;
      }
      node.title = at.toISOString();
    }
  }

  function enhance(root) {
    formatMoney(root);
    formatTimes(root);
  }

  function fragment(html) {
    const template = document.createElement("template");
    template.innerHTML = html.trim();
    enhance(template.content);
    return template.content;
  }

  async function send(form, submitter) {
    const action = (submitter && submitter.getAttribute("formaction")) || form.action;
    const body = new URLSearchParams(new FormData(form));
    const response = await fetch(action, {
      method: "POST",
      body,
      credentials: "same-origin",
      headers: { "X-Requested-With": "fetch" },
    });
    return { ok: response.ok, html: await response.text() };
  }

  // Forms marked data-inline post without leaving the page; the answer
  // replaces the card they belong to.
  document.addEventListener("submit", async (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-inline")) return;
    event.preventDefault();
    if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) return;
    const buttons = form.querySelectorAll("button");
    buttons.forEach((b) => (b.disabled = true));
    try {
      const answer = await send(form, event.submitter);
      const row = form.closest("[data-row]");
      if (answer.ok && row) {
        const replacement = fragment(answer.html);
        const first = replacement.firstElementChild;
        row.replaceWith(replacement);
        if (first) {
          first.setAttribute("tabindex", "-1");
          first.focus();
          say(first.textContent.trim().split("\n")[0]);
        }
      } else {
        const message = fragment(answer.html).textContent.trim();
        say(message || "That did not work.");
        buttons.forEach((b) => (b.disabled = false));
      }
    } catch (_) {
      say("The server could not be reached; nothing was changed.");
      buttons.forEach((b) => (b.disabled = false));
    }
  });

  // The approvals inbox: new intents appear, decided ones leave, and
  // whatever is being typed stays.
  async function refresh(list) {
    const response = await fetch(list.dataset.poll, {
      credentials: "same-origin",
      headers: { "X-Requested-With": "fetch" },
    });
    if (response.status === 401) {
      window.location.assign("/dashboard/login");
      return;
    }
    if (!response.ok) return;
    const fresh = fragment(await response.text());
    const cards = list.querySelector("ul.cards");
    if (!cards) return;
    const wanted = new Map();
    for (const card of fresh.querySelectorAll("[data-row][data-id]")) wanted.set(card.dataset.id, card);
    let added = 0;
    for (const card of cards.querySelectorAll("[data-row][data-id]")) {
      if (card.hasAttribute("data-done")) continue;
      if (!wanted.has(card.dataset.id) && !card.contains(document.activeElement)) card.remove();
      wanted.delete(card.dataset.id);
    }
    for (const card of wanted.values()) {
      cards.appendChild(card);
      added += 1;
    }
    const empty = list.querySelector("[data-empty]");
    const any = cards.querySelector("[data-row]");
    if (empty && any) empty.remove();
    if (added > 0) say(added === 1 ? "1 new intent waits for approval" : added + " new intents wait for approval");
  }

  function poll() {
    const list = document.querySelector("[data-poll]");
    if (!list) return;
    setInterval(() => {
      if (!document.hidden) refresh(list).catch(() => {});
    }, 3000);
    setInterval(() => formatTimes(document), 30000);
  }

  // The drawer: an intent's details without leaving the list.
  const drawer = () => document.getElementById("drawer");
  document.addEventListener("click", async (event) => {
    const close = event.target.closest("[data-close-drawer]");
    if (close) {
      drawer().close();
      return;
    }
    const link = event.target.closest("a[data-drawer]");
    if (!link || !drawer() || event.ctrlKey || event.metaKey || event.shiftKey) return;
    event.preventDefault();
    const response = await fetch(link.getAttribute("href"), {
      credentials: "same-origin",
      headers: { "X-Requested-With": "fetch" },
    });
    const body = document.getElementById("drawer-body");
    body.replaceChildren(fragment(await response.text()));
    drawer().showModal();
  });

  document.addEventListener("DOMContentLoaded", () => {
    enhance(document);
    poll();
  });
})();
