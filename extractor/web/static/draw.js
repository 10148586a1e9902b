// The draw page: strokes on a canvas, sent as a PNG to /draw/read; the digits and their top-3 shown.
(function () {
  "use strict";
  var canvas = document.getElementById("canvas");
  var ctx = canvas.getContext("2d");
  var token = document.querySelector('meta[name="csrf-token"]').getAttribute("content");
  var drawing = false;

  function clear() {
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    document.getElementById("drawing-result").hidden = true;
  }

  function point(event) {
    var box = canvas.getBoundingClientRect();
    return { x: (event.clientX - box.left) * canvas.width / box.width,
             y: (event.clientY - box.top) * canvas.height / box.height };
  }

  canvas.addEventListener("pointerdown", function (event) {
    drawing = true;
    canvas.setPointerCapture(event.pointerId);
    var p = point(event);
    ctx.beginPath();
    ctx.moveTo(p.x, p.y);
    ctx.lineTo(p.x + 0.1, p.y + 0.1);
    ctx.stroke();
  });
  canvas.addEventListener("pointermove", function (event) {
    if (!drawing) { return; }
    var p = point(event);
    ctx.lineTo(p.x, p.y);
    ctx.stroke();
  });
  function stop() { drawing = false; }
  canvas.addEventListener("pointerup", stop);
  canvas.addEventListener("pointercancel", stop);

  function cell(text) {
    var td = document.createElement("td");
    td.textContent = text;
    return td;
  }

  function show(result) {
    document.getElementById("drawing-text").textContent = result.text || "nothing read";
    document.getElementById("drawing-confidence").textContent =
      result.text ? "confidence " + result.confidence.toFixed(2) : "";
    var body = document.querySelector("#drawing-digits tbody");
    body.textContent = "";
    result.digits.forEach(function (digit, i) {
      var tr = document.createElement("tr");
      tr.appendChild(cell(String(i + 1)));
      digit.top.forEach(function (pair) { tr.appendChild(cell(pair[0] + "  " + (100 * pair[1]).toFixed(1) + "%")); });
      body.appendChild(tr);
    });
    document.getElementById("drawing-result").hidden = false;
  }

  document.getElementById("read-drawing").addEventListener("click", function () {
    fetch(canvas.dataset.read, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": token },
      body: JSON.stringify({ image: canvas.toDataURL("image/png") })
    }).then(function (response) { return response.json(); })
      .then(function (result) {
        if (result.error) { throw new Error(result.error); }
        show(result);
      })
      .catch(function (error) {
        document.getElementById("drawing-text").textContent = "could not read: " + error.message;
        document.getElementById("drawing-result").hidden = false;
      });
  });
  document.getElementById("clear-drawing").addEventListener("click", clear);

  ctx.lineWidth = 16;
  ctx.lineCap = "round";
  ctx.lineJoin = "round";
  ctx.strokeStyle = "#111";
  clear();
})();
