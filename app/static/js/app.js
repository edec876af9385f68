/* Progressive enhancement for the portal (served from 'self' for the strict CSP).
   Without this file every page still works: the header's menus and the organisation's
   "sections" list stay open as plain links, and tables scroll inside their own labelled,
   focusable region instead of turning into cards. */
(function () {
  "use strict";

  /* Disclosure buttons (WAI-ARIA disclosure pattern): a <button aria-expanded
     aria-controls> shows or hides the list it controls. Enter and Space are the button's
     own; Escape closes and returns focus to the button. */
  var toggles = Array.prototype.slice.call(document.querySelectorAll("[data-disclosure]"));

  function panelOf(button) {
    return document.getElementById(button.getAttribute("aria-controls"));
  }

  function setOpen(button, open) {
    var panel = panelOf(button);
    if (!panel) return;
    button.setAttribute("aria-expanded", open ? "true" : "false");
    panel.hidden = !open;
  }

  function closeOthers(except) {
    toggles.forEach(function (other) {
      if (other !== except && other.closest(".nav-menu")) setOpen(other, false);
    });
  }

  toggles.forEach(function (button) {
    var panel = panelOf(button);
    if (!panel) return;
    setOpen(button, false);
    button.classList.add("disclosure-ready");
    button.addEventListener("click", function () {
      var open = button.getAttribute("aria-expanded") !== "true";
      if (open) closeOthers(button);
      setOpen(button, open);
    });
    var container = button.parentElement;
    container.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && button.getAttribute("aria-expanded") === "true") {
        event.preventDefault();
        event.stopPropagation();
        setOpen(button, false);
        button.focus();
      }
    });
    if (container.classList.contains("nav-menu")) {
      // A header menu closes when focus moves on to something outside it.
      container.addEventListener("focusout", function (event) {
        if (event.relatedTarget && !container.contains(event.relatedTarget)) {
          setOpen(button, false);
        }
      });
    }
  });

  document.addEventListener("click", function (event) {
    toggles.forEach(function (button) {
      var container = button.closest(".nav-menu");
      if (container && !container.contains(event.target)) setOpen(button, false);
    });
  });

  /* A page that answers with an error summary moves focus to it, so a keyboard or screen
     reader user hears every problem first (GOV.UK's pattern). */
  var summary = document.querySelector("main .error-summary");
  if (summary && !document.querySelector("main [autofocus]")) summary.focus();

  /* An error summary's link moves focus to its field, not only the scroll position. */
  Array.prototype.forEach.call(document.querySelectorAll(".error-summary a[href^='#']"), function (link) {
    link.addEventListener("click", function (event) {
      var target = document.getElementById(link.getAttribute("href").slice(1));
      if (!target) return;
      event.preventDefault();
      target.focus();
      target.scrollIntoView({ block: "center" });
    });
  });

  /* Tables read as stacked cards on a narrow screen (CSS under 768 px): each cell is
     labelled with its column's heading. Wide grids (.table-wide) keep their columns and
     scroll inside their region. */
  function headings(table) {
    var row = table.tHead && table.tHead.rows[table.tHead.rows.length - 1];
    if (!row) return null;
    var labels = [];
    Array.prototype.forEach.call(row.cells, function (cell) {
      var span = cell.colSpan || 1;
      var text = cell.textContent.replace(/\s+/g, " ").trim();
      for (var i = 0; i < span; i += 1) labels.push(text);
    });
    return labels;
  }

  Array.prototype.forEach.call(document.querySelectorAll("main table"), function (table) {
    if (table.classList.contains("table-wide") || table.closest(".table-wide")) return;
    var labels = headings(table);
    if (!labels) {
      // A table of headed rows (a <th> then its values) stacks as it is: heading, then value.
      var rows = table.tBodies.length ? table.tBodies[0].rows : [];
      var headed = rows.length && Array.prototype.every.call(rows, function (row) {
        return row.cells.length && row.cells[0].tagName === "TH";
      });
      if (headed) table.classList.add("table-stack");
      return;
    }
    Array.prototype.forEach.call(table.tBodies, function (body) {
      Array.prototype.forEach.call(body.rows, function (row) {
        var column = 0;
        Array.prototype.forEach.call(row.cells, function (cell) {
          if (!cell.hasAttribute("data-label") && labels[column]) {
            cell.setAttribute("data-label", labels[column]);
          }
          column += cell.colSpan || 1;
        });
      });
    });
    table.classList.add("table-stack");
    var region = table.closest(".table-responsive");
    if (region) region.classList.add("has-stacked-table");
  });

  /* A table's region is a tab stop (to scroll it by keyboard) only while it scrolls. */
  var regions = document.querySelectorAll(".table-responsive[role='region']");
  function tabStops() {
    Array.prototype.forEach.call(regions, function (region) {
      if (region.scrollWidth > region.clientWidth + 1) region.setAttribute("tabindex", "0");
      else region.removeAttribute("tabindex");
    });
  }
  tabStops();
  window.addEventListener("resize", tabStops);
})();
