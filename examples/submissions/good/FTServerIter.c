/*
 * FTServerIter - Lab 3 practice 4, requirement 3: iterative file transfer.
 *
 * usage: FTServerIter <port>
 * Convention: a new connection per file.  The server loops on accept(); on
 * each connection it does what FTServer does (one read() for the path,
 * print it, send whole 260-byte segments, close).  A file that cannot be
 * opened only ends that connection (message on stderr); the server keeps
 * running until it is killed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <signal.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <fcntl.h>

#define BUFSIZE 256

typedef struct file_segment {
    int len;
    char buf[BUFSIZE];
} file_segment;

void error(char *msg)
{
    perror(msg);
    exit(1);
}

/* write all n bytes, retrying after partial writes and EINTR */
static ssize_t writen(int fd, const void *vptr, size_t n)
{
    const char *ptr = vptr;
    size_t nleft = n;

    while (nleft > 0) {
        ssize_t nw = write(fd, ptr, nleft);
        if (nw < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        nleft -= (size_t)nw;
        ptr += nw;
    }
    return (ssize_t)n;
}

/* serve one file transfer on connfd; errors end only this connection */
static void serve_file(int connfd)
{
    int filefd, len;
    char recv_msg[BUFSIZE];
    file_segment segment;

    /* read file path from client */
    if ((len = read(connfd, recv_msg, BUFSIZE - 1)) == -1) {
        perror("read");
        return;
    }
    if (len == 0) {
        fprintf(stderr, "client closed the connection before sending a path\n");
        return;
    }
    recv_msg[len] = 0;
    printf("%s\n", recv_msg);
    fflush(stdout);

    if ((filefd = open(recv_msg, O_RDONLY)) == -1) {
        fprintf(stderr, "file open() error: %s: %s\n", recv_msg, strerror(errno));
        return;
    }

    memset(&segment, 0, sizeof(segment));
    while ((len = read(filefd, segment.buf, BUFSIZE)) > 0) {
        segment.len = len;
        if (writen(connfd, &segment, sizeof(segment)) == -1) {
            perror("write");
            break;
        }
    }
    if (len == -1)
        perror("file read() error");

    close(filefd);
}

int main(int argc, char *argv[])
{
    int listenfd, connfd, on = 1;
    struct sockaddr_in cliaddr, servaddr;
    socklen_t clilen;

    if (argc != 2) {
        fprintf(stderr, "usage: %s <port>\n", argv[0]);
        exit(1);
    }

    /* a client that goes away must not kill the server */
    signal(SIGPIPE, SIG_IGN);

    if ((listenfd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
        error("socket");
    if (setsockopt(listenfd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1)
        error("setsockopt");

    memset(&servaddr, 0, sizeof(servaddr));
    servaddr.sin_family = AF_INET;
    servaddr.sin_addr.s_addr = htonl(INADDR_ANY);
    servaddr.sin_port = htons(atoi(argv[1]));

    if (bind(listenfd, (struct sockaddr *)&servaddr, sizeof(servaddr)) == -1)
        error("bind");
    if (listen(listenfd, 5) == -1)
        error("listen");

    for (;;) {
        clilen = sizeof(cliaddr);
        if ((connfd = accept(listenfd, (struct sockaddr *)&cliaddr, &clilen)) == -1) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            error("accept");
        }
        serve_file(connfd);
        if (close(connfd) == -1)
            perror("close");
    }
}
