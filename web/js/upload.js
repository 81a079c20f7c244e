// Upload a file to a presigned S3 URL with XMLHttpRequest, which (unlike fetch) reports upload
// progress. The signed headers must be sent as signed; the browser computes Content-Length
// itself (a forbidden header for scripts) from the body, which is the size we declared.

const BROWSER_SET = new Set(["content-length", "host"]);

export function putWithProgress(ticket, file, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(ticket.method || "PUT", ticket.url);
    for (const [name, value] of Object.entries(ticket.headers || {})) {
      if (!BROWSER_SET.has(name.toLowerCase())) xhr.setRequestHeader(name, value);
    }
    xhr.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) onProgress(Math.round((event.loaded / event.total) * 100));
    });
    xhr.addEventListener("load", () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        onProgress(100);
        resolve();
      } else {
        const code = (xhr.responseText.match(/<Code>([^<]+)<\/Code>/) || [])[1] || `http_${xhr.status}`;
        reject(Object.assign(new Error(`Storage refused the upload (HTTP ${xhr.status}, ${code})`), { code }));
      }
    });
    xhr.addEventListener("error", () => reject(Object.assign(new Error("Upload failed: storage unreachable"), { code: "network_error" })));
    xhr.send(file);
  });
}
