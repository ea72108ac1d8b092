// Demo shop: post the signed request to the gateway, then send the shopper to the URL it answers.
document.addEventListener("DOMContentLoaded", function () {
  var form = document.querySelector("form[data-start-payment]");
  if (!form) { return; }
  var status = document.getElementById("start-status");
  fetch(form.action, { method: "POST", body: new URLSearchParams(new FormData(form)) })
    .then(function (answer) { return answer.json(); })
    .then(function (data) {
      if (data.status === "OK") { window.location.assign(data.url); }
      else { status.textContent = "refused: " + data.status; }
    })
    .catch(function (error) { status.textContent = "failed: " + error; });
});
