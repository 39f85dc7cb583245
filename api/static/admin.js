// Show only the office / post office / province choice that fits the chosen role; the
// server checks the binding either way (this only spares a wrong choice).
(function () {
  "use strict";
  const role = document.getElementById("role");
  if (!role) return;
  function fit() {
    document.querySelectorAll(".binding").forEach(function (box) {
      const fits = box.dataset.for.split(" ").indexOf(role.value) >= 0;
      box.hidden = !fits;
      if (!fits) box.querySelectorAll("select").forEach(function (s) { s.value = ""; });
    });
  }
  role.addEventListener("change", fit);
  fit();
})();
