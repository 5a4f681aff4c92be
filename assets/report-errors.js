// curvewatch report.html, first script of the page: collects page errors and console errors from the
// very start into window.curvewatchErrors, which assets/report.js reports in its self-test.
(function () {
  'use strict';
  var errors = [];
  window.curvewatchErrors = errors;
  window.addEventListener('error', function (e) { errors.push(String(e.message)); });
  var consoleError = console.error;
  console.error = function () {
    errors.push(Array.prototype.join.call(arguments, ' '));
    consoleError.apply(console, arguments);
  };
})();
