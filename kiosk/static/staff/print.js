// The roster's print button: a script file, because the kiosk's pages allow no inline script.
document.getElementById("print-roster").addEventListener("click", () => window.print());
