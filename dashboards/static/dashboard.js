// dualpath dashboard: the ops token for this tab, API forms, and a 5-second live refresh.
(function () {
  "use strict";
  var KEY = "dualpath.opsToken";

  function token() { return sessionStorage.getItem(KEY) || ""; }

  function showTokenState() {
    var el = document.getElementById("token-state");
    if (el) el.textContent = token() ? "token set for this tab" : "no token: changes will be refused";
  }

  function setupToken() {
    var form = document.getElementById("token-form");
    if (!form) return;
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var value = form.elements.token.value.trim();
      if (value) sessionStorage.setItem(KEY, value);
      form.elements.token.value = "";
      showTokenState();
    });
    document.getElementById("token-forget").addEventListener("click", function () {
      sessionStorage.removeItem(KEY);
      showTokenState();
    });
    showTokenState();
  }

  // The JSON body of an API form; fields named in the URL as {name} go into the URL instead.
  function request(form) {
    var url = form.dataset.api, body = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name) return;
      if (url.indexOf("{" + el.name + "}") >= 0) {
        url = url.replace("{" + el.name + "}", encodeURIComponent(el.value));
      } else if (el.dataset.list !== undefined) {
        body[el.name] = el.value.split(",").filter(function (v) { return v; });
      } else if (el.type === "checkbox") {
        body[el.name] = el.checked;
      } else if (el.value === "") {
        return;
      } else if (el.type === "number") {
        body[el.name] = Number(el.value);
      } else if (el.type === "datetime-local") {
        body[el.name] = new Date(el.value).toISOString();
      } else {
        body[el.name] = el.value;
      }
    });
    return { url: url, body: body };
  }

  function describe(status, data) {
    var detail = data && data.detail;
    if (Array.isArray(detail)) detail = detail.map(function (d) { return d.msg; }).join("; ");
    if (status === 401) return "refused (401): enter the ops token above. " + (detail || "");
    if (status === 403) return "refused (403): the ops token is not valid.";
    return "failed (" + status + "): " + (detail || "");
  }

  function submitApi(ev) {
    var form = ev.target.closest("form.api");
    if (!form) return;
    ev.preventDefault();
    var out = form.querySelector(".result"), req = request(form);
    var headers = { "Content-Type": "application/json" };
    if (token()) headers.Authorization = "Bearer " + token();
    out.className = "result"; out.textContent = "sending…";
    fetch(req.url, { method: form.dataset.method || "POST", headers: headers, body: JSON.stringify(req.body) })
      .then(function (resp) {
        return resp.json().catch(function () { return {}; }).then(function (data) {
          if (resp.ok) {
            out.className = "result ok"; out.textContent = "done";
            refresh(true);
          } else {
            out.className = "result err"; out.textContent = describe(resp.status, data);
          }
        });
      })
      .catch(function (err) { out.className = "result err"; out.textContent = "failed: " + err; });
  }

  function refresh(force) {
    var live = document.getElementById("live"), pause = document.getElementById("pause");
    if (!live || (!force && (document.hidden || (pause && pause.checked)))) return;
    if (!force && live.querySelector("details[open] form")) return;  // a form is being filled in
    fetch(location.href, { headers: { Accept: "text/html" } })
      .then(function (resp) { return resp.ok ? resp.text() : Promise.reject(resp.status); })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.getElementById("live");
        if (fresh) {
          // Evidence lists someone opened stay open across the refresh.
          var opened = Array.prototype.map.call(
            live.querySelectorAll("details[id][open]"), function (d) { return d.id; });
          live.innerHTML = fresh.innerHTML;
          opened.forEach(function (id) {
            var again = document.getElementById(id);
            if (again) again.open = true;
          });
        }
        if (doc.getElementById("group-status") && document.getElementById("group-status")) {
          document.getElementById("group-status").replaceWith(doc.getElementById("group-status"));
        }
        var stamp = document.getElementById("refreshed");
        if (stamp) stamp.textContent = "· updated " + new Date().toLocaleTimeString();
      })
      .catch(function () {
        var stamp = document.getElementById("refreshed");
        if (stamp) stamp.textContent = "· refresh failed, retrying";
      });
  }

  setupToken();
  document.addEventListener("submit", submitApi);
  var live = document.getElementById("live");
  var seconds = live ? Number(live.dataset.refresh || 5) : 0;
  if (seconds > 0) setInterval(function () { refresh(false); }, seconds * 1000);
})();
