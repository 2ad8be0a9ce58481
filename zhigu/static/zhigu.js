/* Zhigu: small progressive enhancements. Every page works without this file.
   UI text comes from the templates (data-* attributes and <template> elements), not from here. */
(function () {
  "use strict";

  document.documentElement.classList.add("js");

  /* Lists joined here follow the page's language as the templates do: Chinese takes 、 between items and ；
     between parts. */
  var chinese = /^zh/.test(document.documentElement.lang);
  var itemSeparator = chinese ? "、" : ", ";
  var partSeparator = chinese ? "；" : " · ";

  /* Submit a form as soon as a select marked data-autosubmit changes (search sort). */
  function autosubmit() {
    document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      select.addEventListener("change", function () {
        if (select.form) { select.form.submit(); }
      });
    });
  }

  /* Select the whole text of a field on focus (the API token shown once). */
  function selectOnFocus() {
    document.querySelectorAll("[data-select-on-focus]").forEach(function (input) {
      input.addEventListener("focus", function () { input.select(); });
    });
  }

  /* A search box with a visually hidden label (data-filter-label) and placeholder (data-filter-placeholder)
     of `owner`, inserted before `before`: the filter of long selects and of the cause picker. */
  function filterBox(id, owner, before) {
    var input = document.createElement("input");
    input.type = "search";
    input.id = id;
    input.className = "select-filter";
    input.placeholder = owner.dataset.filterPlaceholder || "";
    input.setAttribute("autocomplete", "off");
    var label = document.createElement("label");
    label.htmlFor = id;
    label.className = "visually-hidden";
    label.textContent = owner.dataset.filterLabel;
    before.parentNode.insertBefore(label, before);
    before.parentNode.insertBefore(input, before);
    return input;
  }

  /* Long multi-selects (countries) get a filter box above and a list of the chosen values below, and a click
     toggles one option instead of replacing the whole choice (no Ctrl needed). Text comes from data-*. */
  function filterableSelects() {
    document.querySelectorAll("select[multiple][data-filter-label]").forEach(function (select) {
      var filter = filterBox(select.id + "-filter", select, select);
      filter.setAttribute("aria-controls", select.id);
      var chosen = document.createElement("p");
      chosen.className = "select-chosen";
      chosen.setAttribute("aria-live", "polite");
      select.parentNode.insertBefore(chosen, select.nextSibling);

      function showChosen() {
        var names = Array.prototype.filter.call(select.options, function (o) { return o.selected; })
          .map(function (o) { return o.text; });
        chosen.textContent = names.length ? select.dataset.chosenLabel + " " + names.join(itemSeparator)
                                          : select.dataset.noneLabel;
      }

      filter.addEventListener("input", function () {
        var query = filter.value.trim().toLowerCase();
        Array.prototype.forEach.call(select.options, function (option) {
          var match = !query || option.selected || option.text.toLowerCase().indexOf(query) !== -1 ||
                      option.value.toLowerCase() === query;
          option.hidden = !match;
        });
      });
      filter.addEventListener("keydown", function (event) {
        if (event.key === "Enter") { event.preventDefault(); }  // don't submit the form from the filter box
      });
      select.addEventListener("mousedown", function (event) {
        if (event.target.tagName !== "OPTION") { return; }
        event.preventDefault();
        event.target.selected = !event.target.selected;
        select.focus();
        select.dispatchEvent(new Event("change", { bubbles: true }));
      });
      select.addEventListener("change", showChosen);
      showChosen();
    });
  }

  /* On narrow screens the facet groups would push the results far down: fold them, except those with an
     active filter. Without this script they simply stay open. */
  function foldFacets() {
    if (!window.matchMedia || !window.matchMedia("(max-width: 47.99em)").matches) { return; }
    document.querySelectorAll("details.facet").forEach(function (group) {
      if (!group.querySelector(".is-active")) { group.open = false; }
    });
  }

  /* Live "similar failures" list beside the initiative form and the case form (where it catches duplicates): a
     debounced POST to the API while the founder or curator types. A newer request aborts an older one, so
     results never arrive out of order. */
  function similarLive() {
    var panel = document.querySelector("[data-similar-url]");
    if (!panel || !window.fetch) { return; }
    var form = document.getElementById(panel.dataset.similarForm);
    var list = panel.querySelector("[data-similar-list]");
    var status = panel.querySelector("[data-similar-status]");
    var itemTemplate = panel.querySelector("template[data-similar-item]");
    if (!form || !list || !status || !itemTemplate) { return; }
    /* the count under the description (shown on narrow screens, where the list is below the form) */
    var badge = form.querySelector("[data-similar-badge]");
    var limit = parseInt(panel.dataset.similarLimit || "5", 10);
    var timer = null;
    var controller = null;
    var lastBody = "";

    function field(name) { return form.elements.namedItem(name); }

    function optionText(select, value) {
      if (!select || !select.options) { return value; }
      for (var i = 0; i < select.options.length; i++) {
        if (select.options[i].value === value) { return select.options[i].text; }
      }
      return value;
    }

    function chosenMarkets() {
      var select = form.querySelector("select[name='target_markets']");
      if (!select) { return []; }
      return Array.prototype.filter.call(select.options, function (o) { return o.selected && o.value; })
        .map(function (o) { return o.value; });
    }

    /* the causes ticked in the case form (none in the initiative form) */
    function chosenCauses() {
      return Array.prototype.map.call(form.querySelectorAll("input[name='causes']:checked"),
                                      function (box) { return box.value; });
    }

    function request() {
      var title = (field("title") || {}).value || "";
      /* the text compared: the description, or the case form's summary, narrative, warning signs and lessons */
      var description = (panel.dataset.similarText || "description").split(" ").map(function (name) {
        return ((field(name) || {}).value || "").trim();
      }).filter(Boolean).join("\n\n").slice(0, 20000);  // the API's limit; the start says the most
      var sector = (field("sector") || {}).value || "";
      var body = { description: description || title.trim(), title: title.trim(),
                   target_markets: chosenMarkets(), causes: chosenCauses(), limit: limit };
      if (sector) { body.sector = sector; }
      if (panel.dataset.similarExclude) { body.exclude_id = parseInt(panel.dataset.similarExclude, 10); }
      return body;
    }

    function setStatus(text) { status.textContent = text; }

    function whyText(why) {
      var parts = [];
      if (!why) { return ""; }
      if (why.terms && why.terms.length) { parts.push(panel.dataset.whyTerms + " " + why.terms.join(itemSeparator)); }
      if (why.related_terms && why.related_terms.length) {
        parts.push(panel.dataset.whyRelated + " " + why.related_terms.slice(0, 5).join(itemSeparator));
      }
      if (why.sector) { parts.push(panel.dataset.whySector + " " + optionText(field("sector"), why.sector)); }
      if (why.target_markets && why.target_markets.length) {
        var markets = form.querySelector("select[name='target_markets']");
        parts.push(panel.dataset.whyMarkets + " " +
                   why.target_markets.map(function (m) { return optionText(markets, m); }).join(itemSeparator));
      }
      return parts.join(partSeparator);
    }

    function render(results) {
      var items = results.map(function (result) {
        var node = itemTemplate.content.firstElementChild.cloneNode(true);
        var link = node.querySelector("[data-slot='title']");
        link.textContent = result.title;
        link.href = result.url;
        var summary = result.summary || "";
        node.querySelector("[data-slot='summary']").textContent =
          summary.length > 180 ? summary.slice(0, 177) + "…" : summary;
        node.querySelector("[data-slot='why']").textContent = whyText(result.why);
        return node;
      });
      list.replaceChildren.apply(list, items);
      setStatus(results.length ? panel.dataset.msgCount.replace("{n}", String(results.length))
                               : panel.dataset.msgNone);
      if (badge) {
        badge.textContent = results.length ? panel.dataset.msgBadge.replace("{n}", String(results.length))
                                           : panel.dataset.msgNone;
        badge.hidden = false;
      }
    }

    function lookUp() {
      var body = request();
      if ((body.title + " " + body.description).trim().length < 12) { return; }
      var text = JSON.stringify(body);
      if (text === lastBody) { return; }
      lastBody = text;
      if (controller) { controller.abort(); }
      controller = new AbortController();
      panel.classList.add("is-loading");
      setStatus(panel.dataset.msgLoading);
      if (badge) { badge.classList.add("is-loading"); }
      fetch(panel.dataset.similarUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "Accept": "application/json" },
        body: text,
        signal: controller.signal
      }).then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      }).then(function (data) {
        panel.classList.remove("is-loading");
        if (badge) { badge.classList.remove("is-loading"); }
        render(data.results || []);
      }).catch(function (error) {
        if (error && error.name === "AbortError") { return; }
        panel.classList.remove("is-loading");
        if (badge) { badge.classList.remove("is-loading"); }
        lastBody = "";
        setStatus(panel.dataset.msgError);
      });
    }

    function schedule() {
      window.clearTimeout(timer);
      timer = window.setTimeout(lookUp, 600);
    }

    form.addEventListener("input", schedule);
    form.addEventListener("change", schedule);
    schedule();  // a form re-shown after an error already holds text
  }

  /* Markdown preview under the long case fields: the text is posted (with the form's CSRF token) to the
     server, which renders it with the case page's own sanitizing renderer; the answer is shown under the
     field. The button is added here, so without the script there is no dead button. */
  function markdownPreview() {
    var form = document.querySelector("form[data-preview-url]");
    if (!form || !window.fetch || !window.FormData) { return; }
    var token = form.querySelector("input[name='csrf_token']");
    form.querySelectorAll(".field--markdown textarea").forEach(function (textarea) {
      var label = form.querySelector("label[for='" + textarea.id + "']");
      var button = document.createElement("button");
      button.type = "button";
      button.className = "button--secondary button--small preview-toggle";
      button.textContent = form.dataset.previewLabel;
      button.setAttribute("aria-expanded", "false");
      button.setAttribute("aria-controls", textarea.id + "-preview");
      var box = document.createElement("div");
      box.id = textarea.id + "-preview";
      box.className = "markdown-preview";
      box.hidden = true;
      box.setAttribute("aria-live", "polite");
      box.setAttribute("role", "region");
      var heading = (form.dataset.previewHeading || "").replace("{field}", label ? label.textContent.trim() : "");
      box.setAttribute("aria-label", heading);
      var body = document.createElement("div");
      body.className = "prose";
      box.appendChild(body);
      textarea.parentNode.insertBefore(button, textarea.nextSibling);
      button.parentNode.insertBefore(box, button.nextSibling);

      function close() {
        box.hidden = true;
        button.textContent = form.dataset.previewLabel;
        button.setAttribute("aria-expanded", "false");
      }

      button.addEventListener("click", function () {
        if (!box.hidden) { close(); return; }
        var data = new FormData();
        data.append("text", textarea.value);
        if (token) { data.append("csrf_token", token.value); }
        box.hidden = false;
        box.classList.add("is-loading");
        button.textContent = form.dataset.previewHide;
        button.setAttribute("aria-expanded", "true");
        fetch(form.dataset.previewUrl, { method: "POST", credentials: "same-origin", body: data })
          .then(function (response) {
            if (!response.ok) { throw new Error("HTTP " + response.status); }
            return response.text();
          }).then(function (html) {
            box.classList.remove("is-loading");
            /* sanitized on the server by the renderer of the case page (nh3, a short list of tags) */
            body.innerHTML = html.trim() ? html : "";
            if (!html.trim()) { body.textContent = form.dataset.previewEmpty; }
          }).catch(function () {
            box.classList.remove("is-loading");
            body.textContent = form.dataset.previewError;
          });
      });
      textarea.addEventListener("input", function () { if (!box.hidden) { close(); } });
    });
  }

  /* The cause picker gets a filter box: typing hides the causes whose label does not match (chosen ones
     stay visible), and a family with nothing left hides its heading. Tab still walks every shown box. */
  function causeFilter() {
    var picker = document.querySelector("fieldset.cause-picker[data-filter-label]");
    if (!picker) { return; }
    var anchor = picker.querySelector(".cause-family");
    if (!anchor) { return; }
    var input = filterBox("cause-filter", picker, anchor);
    input.addEventListener("keydown", function (event) {
      if (event.key === "Enter") { event.preventDefault(); }
    });
    input.addEventListener("input", function () {
      var query = input.value.trim().toLowerCase();
      picker.querySelectorAll(".cause-family").forEach(function (family) {
        var shown = 0;
        family.querySelectorAll(".cause-option").forEach(function (option) {
          var box = option.querySelector("input[type='checkbox']");
          var text = option.textContent.toLowerCase() + " " + (box ? box.value.toLowerCase() : "");
          var match = !query || (box && box.checked) || text.indexOf(query) !== -1;
          option.hidden = !match;
          if (match) { shown++; }
        });
        family.hidden = shown === 0;
      });
    });
  }

  /* Verdicts on an initiative's suggested cases are recorded in place: the form is sent to the JSON API (the
     page's CSRF token in X-CSRFToken) and the verdict line, the button and a status next to it change; no
     reload, no jump. Problems are said next to the control, in the page's words (data-* of the section). */
  function verdictsInPlace() {
    var section = document.querySelector("section.suggestions[data-msg-required]");
    if (!section || !window.fetch) { return; }
    var text = section.dataset;

    function clearErrors(form) {
      form.querySelectorAll(".field-errors[data-from-script]").forEach(function (node) { node.remove(); });
      form.querySelectorAll(".field--error").forEach(function (node) {
        node.classList.remove("field--error");
        node.removeAttribute("aria-describedby");
      });
    }

    function showError(form, fieldset, message) {
      var list = document.createElement("ul");
      list.className = "field-errors";
      list.id = fieldset.querySelector("input").id + "-errors";
      list.setAttribute("data-from-script", "");
      var item = document.createElement("li");
      item.textContent = message;
      list.appendChild(item);
      var legend = fieldset.querySelector("legend");
      fieldset.insertBefore(list, legend ? legend.nextSibling : fieldset.firstChild);
      fieldset.classList.add("field--error");
      fieldset.setAttribute("aria-describedby", list.id);
    }

    function showVerdict(form, data) {
      var item = form.closest("li");
      var line = item.querySelector("p.verdict");
      if (!line) {
        line = document.createElement("p");
        item.insertBefore(line, form);
      }
      line.className = "verdict verdict--" + data.verdict;
      var label = document.createElement("strong");
      label.textContent = text.labelVerdict;
      line.replaceChildren(label, document.createTextNode(" " + (data.verdict === "relevant" ? text.labelRelevant
                                                                                               : text.labelNotRelevant)));
      if (data.note) {
        var note = document.createElement("span");
        note.className = "verdict__note";
        note.textContent = data.note;
        line.append(document.createElement("br"), note);
      }
    }

    section.querySelectorAll("form.verdict-form[data-api-url]").forEach(function (form) {
      var status = form.querySelector("[data-verdict-status]");
      var fieldset = form.querySelector("fieldset");
      var button = form.querySelector("button[type='submit']");
      var token = form.querySelector("input[name='csrf_token']");
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        clearErrors(form);
        var chosen = form.querySelector("input[name='verdict']:checked");
        if (!chosen) {
          showError(form, fieldset, text.msgRequired);
          status.textContent = "";
          fieldset.querySelector("input").focus();
          return;
        }
        var note = form.elements.namedItem("note");
        var body = { case_id: parseInt(form.elements.namedItem("case_id").value, 10), verdict: chosen.value,
                     note: note ? note.value : "" };
        status.textContent = text.msgSaving;
        button.disabled = true;
        fetch(form.dataset.apiUrl, {
          method: "POST",
          credentials: "same-origin",
          headers: { "Content-Type": "application/json", "Accept": "application/json",
                     "X-CSRFToken": token ? token.value : "" },
          body: JSON.stringify(body)
        }).then(function (response) {
          return response.json().catch(function () { return {}; }).then(function (data) {
            return { ok: response.ok, data: data };
          });
        }).then(function (answer) {
          button.disabled = false;
          if (!answer.ok) {
            var errors = (answer.data && answer.data.errors) || {};
            if (errors.verdict) { showError(form, fieldset, text.msgRequired); }
            status.textContent = errors.verdict ? "" : text.msgError;
            return;
          }
          showVerdict(form, answer.data);
          if (note) { note.value = answer.data.note || ""; }
          button.textContent = text.labelChange;
          status.textContent = text.msgSaved;
        }).catch(function () {
          button.disabled = false;
          status.textContent = text.msgError;
        });
      });
    });
  }

  /* A case picker's search (merge page, link form: templates/links/_picker.html) lists its results while the box
     is typed in: the same GET page is fetched and its results part replaces this one (a chosen result stays
     chosen). Without script the Search button does it. */
  function pickerLiveSearch() {
    document.querySelectorAll("form[data-live-search]").forEach(function (form) {
      var input = document.querySelector("input[form='" + form.id + "'][type='search']");
      var region = document.getElementById(form.getAttribute("data-live-search"));
      if (!input || !region || !window.fetch || !window.DOMParser) { return; }
      var fieldset = region.closest("fieldset") || document;
      var timer = null;
      var controller = null;

      function lookUp() {
        var query = input.value.trim();
        if (query.length < 2) { return; }
        var chosen = fieldset.querySelector("input[type='radio']:checked");
        var url = form.action + "?" + new URLSearchParams({ q: query }).toString();
        if (controller) { controller.abort(); }
        controller = new AbortController();
        region.classList.add("is-loading");
        fetch(url, { credentials: "same-origin", signal: controller.signal }).then(function (response) {
          if (!response.ok) { throw new Error("HTTP " + response.status); }
          return response.text();
        }).then(function (html) {
          var fresh = new DOMParser().parseFromString(html, "text/html").getElementById(region.id);
          region.classList.remove("is-loading");
          if (!fresh) { return; }
          region.replaceChildren.apply(region, Array.prototype.slice.call(fresh.childNodes));
          if (chosen) {
            var again = document.getElementById(chosen.id);
            if (again) { again.checked = true; }
          }
        }).catch(function (error) {
          if (!error || error.name !== "AbortError") { region.classList.remove("is-loading"); }
        });
      }

      input.addEventListener("input", function () {
        window.clearTimeout(timer);
        timer = window.setTimeout(lookUp, 400);
      });
    });
  }

  /* The header's drop-down groups (Admin, the reader's pages) close on a click elsewhere and on Escape. */
  function navGroups() {
    var groups = document.querySelectorAll("details.nav-group__menu");
    if (!groups.length) { return; }
    document.addEventListener("click", function (event) {
      groups.forEach(function (group) { if (group.open && !group.contains(event.target)) { group.open = false; } });
    });
    document.addEventListener("keydown", function (event) {
      if (event.key !== "Escape") { return; }
      groups.forEach(function (group) {
        if (group.open) {
          group.open = false;
          if (group.contains(document.activeElement)) { group.querySelector("summary").focus(); }
        }
      });
    });
  }

  function ready() {
    markdownPreview();
    causeFilter();
    autosubmit();
    selectOnFocus();
    foldFacets();
    filterableSelects();
    similarLive();
    verdictsInPlace();
    pickerLiveSearch();
    navGroups();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", ready);
  } else {
    ready();
  }
})();
