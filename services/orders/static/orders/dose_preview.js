/* Live dose preview on the order form: on every change of a dose input, POST /dose-preview (same origin; the
   SMART session cookie authenticates it) and fill the calculation rows the page rendered (data-calc = a path into
   the answer's "calculation"; formatting as ui_presenters.format_value). Refusals (an OperationOutcome) are shown
   next to the field their "expression" names. Without this script the form's "Recalculate preview" button does
   the same on the server. */
(function () {
  "use strict";
  var form = document.getElementById("order-form");
  var panel = document.getElementById("dose-preview");
  if (!form || !panel || !window.fetch) { return; }
  var DOSE_FIELDS = ["mg_per_kg", "duration_min", "weight_basis", "override_reason"];
  var FIELD_OF = { "override.reason": "override_reason", "override.authorised_by": "override_reason",
                   "override": "override_reason" };
  var state = document.getElementById("preview-state");
  var errorList = document.getElementById("preview-errors");
  var text = document.getElementById("dose-text");
  var tableWrap = document.getElementById("calc-table-wrap");
  var sequence = 0;
  var timer = null;

  function valueAt(data, path) {
    return path.split(".").reduce(function (value, part) {
      return value !== null && typeof value === "object" ? value[part] : null;
    }, data);
  }

  function format(value, cell) {
    if (value === null || value === undefined || value === "") { return "—"; }
    var kind = cell.getAttribute("data-format");
    var shown = kind === "date" ? String(value).slice(0, 10)
      : (kind === "number" && typeof value === "number") ? String(Number(value.toPrecision(6))) : String(value);
    var unit = cell.getAttribute("data-unit");
    return unit ? shown + " " + unit : shown;
  }

  function fieldMessage(id, message) {
    var wrapper = form.querySelector('[data-field="' + id + '"]');
    var input = document.getElementById(id);
    var slot = document.getElementById(id + "-error");
    if (!wrapper || !slot || !input) { return false; }
    wrapper.classList.toggle("field-error", Boolean(message));
    slot.textContent = message ? "Error: " + message : "";
    slot.hidden = !message;
    if (message) { input.setAttribute("aria-invalid", "true"); } else { input.removeAttribute("aria-invalid"); }
    return true;
  }

  function showProblems(messages) {
    errorList.innerHTML = "";
    messages.forEach(function (message) {
      var item = document.createElement("li");
      item.textContent = message;
      errorList.appendChild(item);
    });
    errorList.hidden = messages.length === 0;
  }

  function showCalculation(answer) {
    text.textContent = answer.text;
    text.hidden = false;
    tableWrap.hidden = false;
    panel.querySelectorAll("[data-calc]").forEach(function (cell) {
      var value = valueAt(answer.calculation, cell.getAttribute("data-calc"));
      cell.textContent = format(value, cell);
      var row = cell.closest("tr");
      if (row) { row.hidden = cell.getAttribute("data-optional") === "true" && (value === null || value === ""); }
    });
  }

  function body() {
    var data = { patient_id: form.getAttribute("data-patient-id") };
    var problems = [];
    ["mg_per_kg", "duration_min"].forEach(function (id) {
      var input = document.getElementById(id);
      if (input.validity && input.validity.badInput) {
        problems.push([id, "enter a number"]);
      } else if (input.value.trim() !== "") {
        data[id] = Number(input.value);
      }
    });
    data.weight_basis = document.getElementById("weight_basis").value;
    // The override is authorised by the clinician signed in (the service takes them from the session).
    var reason = document.getElementById("override_reason").value.trim();
    if (reason) { data.override = { reason: reason }; }
    return { data: data, problems: problems };
  }

  function refresh() {
    var request = body();
    var mine = ++sequence;
    DOSE_FIELDS.forEach(function (id) { fieldMessage(id, ""); });
    if (request.problems.length) {
      request.problems.forEach(function (p) { fieldMessage(p[0], p[1]); });
      showProblems(request.problems.map(function (p) { return p[1]; }));
      state.textContent = "Not calculated: correct the highlighted field.";
      return;
    }
    panel.setAttribute("aria-busy", "true");
    state.textContent = "Calculating…";
    fetch(form.getAttribute("data-preview-url"), {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify(request.data)
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (answer) {
        return { status: response.status, answer: answer };
      });
    }).then(function (result) {
      if (mine !== sequence) { return; }  // a newer change is on its way
      panel.removeAttribute("aria-busy");
      if (result.status === 200) {
        showProblems([]);
        showCalculation(result.answer);
        state.textContent = "Calculated from the EHR's latest weight.";
        return;
      }
      if (result.status === 401 || result.status === 403) {
        showProblems(["Your session has ended or does not allow this: open the app again from the EHR."]);
      } else {
        var issues = (result.answer && result.answer.issue) || [];
        var messages = [];
        issues.forEach(function (issue) {
          var where = (issue.expression || [""])[0];
          var message = issue.diagnostics || "refused";
          fieldMessage(FIELD_OF[where] || where, message);
          messages.push(message);
        });
        showProblems(messages.length ? messages : ["The dose could not be calculated (HTTP " + result.status + ")."]);
      }
      text.hidden = true;
      tableWrap.hidden = true;
      state.textContent = "Not calculated: see the errors.";
    }).catch(function () {
      if (mine !== sequence) { return; }
      panel.removeAttribute("aria-busy");
      state.textContent = "The preview could not be reached; use “Recalculate preview”.";
    });
  }

  function schedule() {
    window.clearTimeout(timer);
    timer = window.setTimeout(refresh, 250);
  }

  DOSE_FIELDS.forEach(function (id) {
    var input = document.getElementById(id);
    if (!input) { return; }
    input.addEventListener("input", schedule);
    input.addEventListener("change", schedule);
  });
  panel.setAttribute("data-live", "true");
})();
