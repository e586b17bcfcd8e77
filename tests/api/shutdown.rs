use std::time::Duration;

use crate::helpers::spawn_app;

#[tokio::test]
async fn serve_returns_after_trigger_and_refuses() {
    let mut app = spawn_app().await;
    let response = app.get("/healthz").await;
    assert!(response.status().is_success());
    drop(response);

    app.shutdown.take().unwrap().send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(5), &mut app.server)
        .await
        .expect("serve did not return within 5 s of the trigger")
        .expect("the server task panicked");

    let connect = tokio::net::TcpStream::connect(app.addr).await;
    let error = connect.expect_err("the listener still accepts connections");
    assert_eq!(error.kind(), std::io::ErrorKind::ConnectionRefused);
}
