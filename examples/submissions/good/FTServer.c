/*
 * FTServer - Lab 3 practice 4 (handout skeleton, blanks filled in).
 *
 * usage: FTServer <port>
 * Accepts ONE connection, reads the file path with one read() (up to 255
 * bytes), prints it, then sends the file as a sequence of whole 260-byte
 * file_segment structs {int len; char buf[256];} and closes at EOF.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
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

int main(int argc, char *argv[])
{
    int listenfd, connfd, filefd, len, on = 1;
    struct sockaddr_in cliaddr, servaddr;
    socklen_t clilen;
    char recv_msg[BUFSIZE];
    file_segment segment;

    if (argc != 2) {
        fprintf(stderr, "usage: %s <port>\n", argv[0]);
        exit(1);
    }

    /* socket() */
    if ((listenfd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
        error("socket");
    if (setsockopt(listenfd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1)
        error("setsockopt");

    memset(&servaddr, 0, sizeof(servaddr));
    servaddr.sin_family = AF_INET;
    servaddr.sin_addr.s_addr = htonl(INADDR_ANY);
    servaddr.sin_port = htons(atoi(argv[1]));

    /* bind() */
    if (bind(listenfd, (struct sockaddr *)&servaddr, sizeof(servaddr)) == -1)
        error("bind");

    /* listen() */
    if (listen(listenfd, 5) == -1)
        error("listen");

    /* accept() */
    clilen = sizeof(cliaddr);
    while ((connfd = accept(listenfd, (struct sockaddr *)&cliaddr, &clilen)) == -1) {
        if (errno != EINTR)
            error("accept");
        clilen = sizeof(cliaddr);
    }

    /* read file path from client */
    if ((len = read(connfd, recv_msg, BUFSIZE - 1)) == -1)
        error("read");
    if (len == 0) {
        fprintf(stderr, "client closed the connection before sending a path\n");
        close(connfd);
        close(listenfd);
        exit(1);
    }
    recv_msg[len] = 0;
    printf("%s\n", recv_msg);
    fflush(stdout);

    if ((filefd = open(recv_msg, O_RDONLY)) == -1) {
        close(connfd);
        close(listenfd);
        error("file open() error");
    }

    memset(&segment, 0, sizeof(segment));
    while ((len = read(filefd, segment.buf, BUFSIZE)) > 0) {    /* read data from file */
        segment.len = len;
        /* write segment to client: always the whole struct */
        if (writen(connfd, &segment, sizeof(segment)) == -1)
            error("write");
    }
    if (len == -1)
        error("file read() error");

    close(filefd);
    close(connfd);
    close(listenfd);
    return 0;
}
