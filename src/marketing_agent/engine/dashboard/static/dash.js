// The dashboard's progressive layer, no build step: every page works without it.
// - <time datetime> shows local time; - [data-refresh-target]: a checkbox that refreshes a fragment every 3 s;
// - [data-reload-while-active]: reload an active run's page; - [data-confirm] forms ask first;
// - [data-json] textareas are checked before their form is sent.
(function () {
  "use strict";
  function localTimes(root) {
    root.querySelectorAll("time[datetime]").forEach(function (el) {
      var d = new Date(el.getAttribute("datetime"));
      if (!isNaN(d)) { el.title = el.textContent; el.textContent = d.toLocaleString(); }
    });
  }
  function autoRefresh(box) {
    var target = document.getElementById(box.dataset.refreshTarget);
    var url = box.dataset.refreshUrl;
    var busy = false;
    setInterval(function () {
      if (!box.checked || busy || document.hidden) { return; }
      busy = true;
      fetch(url, { headers: { "X-Requested-With": "fetch" }, credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
        .then(function (html) { target.innerHTML = html; localTimes(target); })
        .catch(function () { /* the next tick retries */ })
        .finally(function () { busy = false; });
    }, 3000);
  }
  function checkJson(form) {
    var ok = true;
    form.querySelectorAll("textarea[data-json]").forEach(function (ta) {
      var msg = "";
      try {
        var v = JSON.parse(ta.value || "{}");
        if (v === null || typeof v !== "object" || Array.isArray(v)) { msg = "Must be a JSON object"; }
      } catch (e) { msg = "Not valid JSON: " + e.message; }
      ta.setCustomValidity(msg);
      ta.classList.toggle("invalid", msg !== "");
      if (msg) { ok = false; ta.reportValidity(); }
    });
    return ok;
  }
  document.addEventListener("DOMContentLoaded", function () {
    localTimes(document);
    document.querySelectorAll("[data-refresh-target]").forEach(autoRefresh);
    document.querySelectorAll("[data-reload-while-active]").forEach(function (el) {
      setTimeout(function () {
        // Not while someone is typing in or focused on a control.
        if (!document.hidden && document.activeElement === document.body) { location.reload(); }
      }, +el.dataset.reloadWhileActive);
    });
    document.querySelectorAll("form[data-confirm]").forEach(function (f) {
      f.addEventListener("submit", function (ev) { if (!confirm(f.dataset.confirm)) { ev.preventDefault(); } });
    });
    document.querySelectorAll("form[data-json-form]").forEach(function (f) {
      f.addEventListener("submit", function (ev) { if (!checkJson(f)) { ev.preventDefault(); } });
      f.querySelectorAll("textarea[data-json]").forEach(function (ta) {
        ta.addEventListener("input", function () { ta.setCustomValidity(""); ta.classList.remove("invalid"); });
      });
    });
  });
})();
