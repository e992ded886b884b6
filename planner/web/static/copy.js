// «Копировать» on the calendars page: puts a feed's address on the clipboard (no inline
// scripts: the pages' Content-Security-Policy allows only this site's files).
document.addEventListener("click", function (event) {
  var button = event.target.closest("button[data-copy]");
  if (!button) return;
  var text = button.getAttribute("data-copy");
  var done = function () { button.textContent = "Скопировано"; setTimeout(function () { button.textContent = "Копировать"; }, 2000); };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(done, function () { select(button); });
  } else {
    select(button);
  }
  function select(b) {
    var input = b.closest("td").querySelector("input.feed-url");
    if (input) { input.focus(); input.select(); try { document.execCommand("copy"); done(); } catch (e) { /* selected: Ctrl+C */ } }
  }
});
