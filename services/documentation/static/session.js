/* The session page: the status strip refreshed from its JSON (no reload), the countdown to the next reading each
   second, the vitals form's prefilled time kept at now until the nurse types in it, and a post sent once.
   Without this script the page works the same; the strip then shows what it showed when the page was drawn. */
(function () {
  "use strict";

  // A page restored from the back-forward cache would show what was charted before: fetch it again.
  window.addEventListener("pageshow", function (event) { if (event.persisted) { window.location.reload(); } });

  var timeInput = document.querySelector('[data-testid="vitals-form"] input[name="at"]');
  var prefilled = document.querySelector('[data-testid="vitals-form"] input[name="at_prefilled"]');
  var keepNow = Boolean(timeInput && prefilled && timeInput.value === prefilled.value);
  if (timeInput) {
    timeInput.addEventListener("input", function () { keepNow = false; });
  }

  document.querySelectorAll('form[method="post"]').forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (form.dataset.sent) { event.preventDefault(); return; }
      form.dataset.sent = "yes";
    });
  });

  var strip = document.querySelector("[data-status-url]");
  if (!strip) { return; }
  var version = strip.dataset.version;
  var nextIn = strip.dataset.nextIn === "" ? null : Number(strip.dataset.nextIn);
  var fetchedAt = Date.now();

  function countdown() {
    if (nextIn === null) { return ""; }
    var seconds = nextIn - Math.round((Date.now() - fetchedAt) / 1000);
    if (seconds > 0) { return "in " + Math.ceil(seconds / 60) + " min"; }
    var overdue = Math.floor(-seconds / 60);
    return overdue < 1 ? "due now" : "due now, " + overdue + " min overdue";
  }

  function set(key, value) {
    strip.querySelectorAll('[data-strip="' + key + '"]').forEach(function (element) {
      element.textContent = value;
    });
  }

  function show(data) {
    set("status_label", data.status_label);
    set("elapsed_label", data.elapsed_label);
    set("planned_end_label", data.planned_end_label);
    set("planned_end", data.planned_end);
    set("next_reading_due", data.next_reading_due || "—");
    set("readings_missed", String(data.readings_missed));
    set("cadss_due", data.cadss_due.length ? data.cadss_due.join(", ") : "none");
    set("open_alerts", String(data.open_alerts));
    set("as_of_clock", data.as_of_clock);
    strip.classList.toggle("strip-missed", data.readings_missed > 0);
    strip.classList.toggle("strip-alert", data.open_alerts > 0);
    strip.querySelector('[data-testid="strip-stale"]').hidden = data.version === version;
    nextIn = data.next_reading_in_s;
    fetchedAt = Date.now();
    set("countdown", countdown());
    if (keepNow && data.now_input) { timeInput.value = data.now_input; prefilled.value = data.now_input; }
  }

  function poll() {
    fetch(strip.dataset.statusUrl, {headers: {Accept: "application/json"}, credentials: "same-origin",
                                    cache: "no-store"})
      .then(function (response) { return response.ok ? response.json() : Promise.reject(response.status); })
      .then(function (data) {
        strip.classList.remove("strip-offline");
        strip.querySelector('[data-testid="strip-offline"]').hidden = true;
        show(data);
      })
      .catch(function () {
        strip.classList.add("strip-offline");
        strip.querySelector('[data-testid="strip-offline"]').hidden = false;
      });
  }

  window.setInterval(function () { set("countdown", countdown()); }, 1000);
  window.setInterval(poll, Number(strip.dataset.pollSeconds) * 1000);
}());
