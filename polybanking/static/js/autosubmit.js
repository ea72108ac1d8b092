// Submit forms marked data-autosubmit (no inline script: the CSP forbids it).
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("form[data-autosubmit]").forEach(function (form) { form.submit(); });
});
