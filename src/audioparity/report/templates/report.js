(function () {
  "use strict";
  // open every <details> around an element, then show it (chart dots link to table rows)
  function reveal(id) {
    var el = document.getElementById(id);
    if (!el) { return; }
    for (var p = el.parentElement; p; p = p.parentElement) {
      if (p.tagName === "DETAILS") { p.open = true; }
    }
    el.scrollIntoView({block: "center"});
    el.classList.add("flash");
  }
  window.addEventListener("hashchange", function () {
    reveal(decodeURIComponent(location.hash.slice(1)));
  });
  var buttons = document.querySelectorAll("button[data-details]");
  Array.prototype.forEach.call(buttons, function (b) {
    b.addEventListener("click", function () {
      var open = b.getAttribute("data-details") === "open";
      var box = document.getElementById(b.getAttribute("data-target"));
      if (!box) { return; }
      Array.prototype.forEach.call(box.querySelectorAll("details"), function (d) {
        d.open = open;
      });
    });
  });
  if (location.hash) { reveal(decodeURIComponent(location.hash.slice(1))); }
  document.documentElement.setAttribute("data-ready", "1");
}());
