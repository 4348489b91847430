//! [`ResponseFuture`]: what the layer and the requirement layers return,
//! without a boxed future on the paths that decide at once.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::Response;
use pin_project_lite::pin_project;

/// A boxed, sendable response future: for the verifications that wait for
/// keys.
type Boxed<B, E> = Pin<Box<dyn Future<Output = Result<Response<B>, E>> + Send>>;

pin_project! {
    /// The response future of [`CognitoAuth`](crate::CognitoAuth) and
    /// [`RequireService`](crate::RequireService): the inner service's own
    /// future when the request was admitted at once (a token-cache hit, or
    /// keys already cached), an answer ready at once when it was refused,
    /// and a boxed future only when the keys must be fetched first.
    ///
    /// `B` is the response body type, `E` the inner service's error.
    pub struct ResponseFuture<F, B, E> {
        #[pin]
        state: State<F, B, E>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F, B, E> {
        Inner { #[pin] future: F },
        Answer { response: Option<Response<B>> },
        Waiting { future: Boxed<B, E> },
    }
}

impl<F, B, E> ResponseFuture<F, B, E> {
    /// The inner service's future.
    pub(crate) fn inner(future: F) -> Self {
        ResponseFuture {
            state: State::Inner { future },
        }
    }

    /// A response ready at once.
    pub(crate) fn answer(response: Response<B>) -> Self {
        ResponseFuture {
            state: State::Answer {
                response: Some(response),
            },
        }
    }

    /// A verification that waits for keys, then calls the inner service.
    pub(crate) fn waiting(
        future: impl Future<Output = Result<Response<B>, E>> + Send + 'static,
    ) -> Self {
        ResponseFuture {
            state: State::Waiting {
                future: Box::pin(future),
            },
        }
    }
}

impl<F, B, E> Future for ResponseFuture<F, B, E>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProj::Inner { future } => future.poll(cx),
            StateProj::Waiting { future } => future.as_mut().poll(cx),
            // Polled again after it answered: a contract violation by the
            // caller, answered by never being ready again (not a panic).
            StateProj::Answer { response } => match response.take() {
                Some(response) => Poll::Ready(Ok(response)),
                None => Poll::Pending,
            },
        }
    }
}

impl<F, B, E> std::fmt::Debug for ResponseFuture<F, B, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}
