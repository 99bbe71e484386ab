// The console's one script: a progress bar while an import's file is
// sent. Without it (or without JavaScript) the form is sent as usual and
// the report page comes the same way.
(function () {
  var form = document.getElementById('import');
  var bar = document.getElementById('barre');
  var box = document.getElementById('progression');
  if (!form || !bar || !box || !window.XMLHttpRequest || !window.FormData) return;
  form.addEventListener('submit', function (event) {
    var file = document.getElementById('fichier');
    if (!file || !file.files || !file.files.length) return;
    event.preventDefault();
    var button = form.querySelector('button[type=submit]');
    if (button) button.disabled = true;
    box.hidden = false;
    var xhr = new XMLHttpRequest();
    xhr.open('POST', form.action);
    xhr.upload.addEventListener('progress', function (e) {
      if (!e.lengthComputable) return;
      var percent = Math.round((e.loaded * 100) / e.total);
      bar.value = percent;
      bar.textContent = percent + ' %';
    });
    xhr.upload.addEventListener('load', function () {
      bar.value = 100;
      bar.textContent = '100 %';
      var label = box.querySelector('label');
      if (label) label.textContent = 'Vérification du fichier…';
    });
    xhr.addEventListener('load', function () {
      // The server sends the browser to the report: go there as usual.
      if (xhr.responseURL && xhr.responseURL.indexOf('/donnees/import') === -1) {
        window.location.assign(xhr.responseURL);
        return;
      }
      // A page saying why the file was not taken: show it.
      document.open();
      document.write(xhr.responseText);
      document.close();
    });
    xhr.addEventListener('error', function () {
      if (button) button.disabled = false;
      box.hidden = true;
      form.submit();
    });
    xhr.send(new FormData(form));
  });
})();
