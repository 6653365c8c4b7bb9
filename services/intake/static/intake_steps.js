/* The intake steps: what a nurse typed in a step and did not save is lost when the page changes, because every part
   saves on its own. So leaving a step with unsaved input asks first: a link on the page (the step list, Previous /
   Next, the missing list) with a confirm dialog naming the step; anything else (reload, close, the address bar)
   with the browser's own leave-page dialog. Saving never asks, and the page drawn after a save starts clean.
   A form the server refused is drawn again as typed, so it starts unsaved. Without this script the page works the
   same, without the warning. */
(function () {
  "use strict";

  var forms = Array.prototype.slice.call(document.querySelectorAll("section.part form"));
  if (!forms.length) { return; }

  function state(form) { return new URLSearchParams(new FormData(form)).toString(); }

  var drawn = forms.map(state);
  var refused = Boolean(document.querySelector('[data-testid="error-summary"]'));
  var leaving = false;

  function shown(form) { return !form.closest("section[hidden]"); }

  function unsaved() {
    return forms.filter(function (form, index) {
      return shown(form) && (refused || state(form) !== drawn[index]);
    });
  }

  function stepTitle() {
    var current = document.querySelector('[data-testid="step-progress"] strong');
    return current ? current.textContent.trim() : "this step";
  }

  function question(lead) {
    return lead + " Leave and lose them? Cancel stays here, so they can be saved.";
  }

  // A link on the page: ask in the step's words. A new tab (modifier key, middle button) loses nothing.
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a[href]");
    if (!link || event.defaultPrevented || event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey
        || event.altKey || link.target === "_blank" || link.getAttribute("href").charAt(0) === "#") { return; }
    if (!unsaved().length) { return; }
    if (window.confirm(question("What was typed in “" + stepTitle() + "” is not saved."))) {
      leaving = true;
    } else {
      event.preventDefault();
    }
  });

  // Saving one form of a step that has several (the overrides) would lose what was typed in the others.
  forms.forEach(function (form) {
    form.addEventListener("submit", function (event) {
      var others = unsaved().filter(function (other) { return other !== form; });
      if (others.length && !window.confirm(question("Saving this form loses what was typed in the other "
                                                    + others.length + " form(s) of “" + stepTitle() + "”."))) {
        event.preventDefault();
        return;
      }
      leaving = true;
    });
  });

  window.addEventListener("beforeunload", function (event) {
    if (leaving || !unsaved().length) { return; }
    event.preventDefault();
    event.returnValue = "";  // older browsers show the dialog only when this is set
  });

  // Back to this page from the history: the nurse is here again, so leaving asks again.
  window.addEventListener("pageshow", function () { leaving = false; });
}());
